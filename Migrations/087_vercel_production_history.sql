-- Every time this service points a project's production at a deployment (promotion, rollback):
-- the newest row is production as this service last set it, and its previous_deployment_id is
-- what a rollback without a named deployment returns to.
CREATE TABLE vercel_production_history (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_project_id TEXT NOT NULL,
  deployment_id TEXT NOT NULL CHECK (char_length(deployment_id) BETWEEN 1 AND 255),
  deployment_url TEXT,
  alias_urls TEXT[] NOT NULL DEFAULT '{}',
  action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),
  previous_deployment_id TEXT,
  actor_user_id UUID,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_production_history_project_idx ON vercel_production_history (project_id, id DESC);
