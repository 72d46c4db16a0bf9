-- Which host pumps a deployment's build events into the shared log channels: one pump per
-- deployment across every host. A pump holds its row's lease while it runs (renewed every few
-- seconds by its process); a host that dies lets the lease lapse, and a host whose readers still
-- wait takes the deployment over. `finished_at` says the build's end was published: the channel
-- keeps the events an hour, so no host pumps it again within that time.
CREATE TABLE vercel_log_pumps (
  deployment_id TEXT PRIMARY KEY CHECK (length(deployment_id) BETWEEN 1 AND 255),
  holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 255),
  lease_until TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  takeovers INT NOT NULL DEFAULT 0 CHECK (takeovers >= 0),
  finished_at TIMESTAMPTZ
);
CREATE INDEX vercel_log_pumps_lease_idx ON vercel_log_pumps (lease_until);
