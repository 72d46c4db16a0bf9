-- Feedback on the git providers: one comment per pull request and owner (edited in place), a
-- commit status per project on the head commit, and the outbox work a deployment's change queues.

-- The seed's per-project comment table is replaced by one comment per pull request and owner, so
-- two projects built from one pull request share a comment.
DROP TABLE vercel_pr_comments;

CREATE TABLE vercel_git_pr_comments (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
  repository TEXT NOT NULL CHECK (char_length(repository) BETWEEN 3 AND 255),
  pr_number INT NOT NULL CHECK (pr_number > 0),
  comment_id TEXT CHECK (char_length(comment_id) BETWEEN 1 AND 100),
  comment_author TEXT CHECK (char_length(comment_author) <= 255),
  body_sha256 TEXT CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vercel_git_pr_comments_key ON vercel_git_pr_comments (owner_id, provider, lower(repository), pr_number);

-- The last status sent for a project's commit, so the same state is not sent twice.
CREATE TABLE vercel_git_commit_statuses (
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  commit_sha TEXT NOT NULL CHECK (commit_sha ~ '^[0-9a-f]{7,64}$'),
  state TEXT NOT NULL CHECK (state IN ('pending', 'success', 'failure')),
  deployment_id TEXT NOT NULL,
  sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, commit_sha)
);

-- A deployment from git whose state, URL or git source changes queues `git.feedback` for its pull request (or
-- its commit, for a push): one pending job per pull request and owner, whose `version` each
-- further change raises, so a burst is one job and a change while the job runs makes it run again.
CREATE FUNCTION vercel_git_feedback_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_provider TEXT := NEW.git_source->>'provider';
  v_repository TEXT := NEW.git_source->>'repository';
  v_pr TEXT := NEW.git_source->>'prNumber';
  v_sha TEXT := NEW.git_source->>'commitSha';
  v_owner UUID;
BEGIN
  IF v_provider IS NULL OR v_repository IS NULL OR v_sha IS NULL THEN RETURN NULL; END IF;
  IF v_pr !~ '^[1-9][0-9]{0,8}$' THEN v_pr := NULL; END IF;
  IF TG_OP = 'UPDATE' AND NEW.deployment_state IS NOT DISTINCT FROM OLD.deployment_state
     AND NEW.deployment_url IS NOT DISTINCT FROM OLD.deployment_url AND NEW.git_source IS NOT DISTINCT FROM OLD.git_source THEN
    RETURN NULL;
  END IF;
  SELECT p.owner_id INTO v_owner
  FROM projects p JOIN vercel_git_provider_credentials c ON c.project_id = p.id
  WHERE p.id = NEW.project_id AND c.provider = v_provider AND lower(c.repository) = lower(v_repository)
    AND c.access_token_sealed IS NOT NULL;
  IF v_owner IS NULL THEN RETURN NULL; END IF;
  INSERT INTO vercel_jobs (kind, payload, dedup_key, max_attempts)
  VALUES ('git.feedback',
          jsonb_build_object('ownerId', v_owner, 'provider', v_provider, 'repository', v_repository,
                             'prNumber', v_pr::int, 'commitSha', v_sha, 'version', 1),
          v_owner || ':' || v_provider || ':' || lower(v_repository) || ':' || coalesce('pr:' || v_pr, 'commit:' || v_sha),
          12)
  ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('pending', 'running')
  DO UPDATE SET payload = jsonb_set(vercel_jobs.payload, '{version}',
                                    to_jsonb(coalesce((vercel_jobs.payload->>'version')::bigint, 0) + 1)),
                updated_at = now();
  RETURN NULL;
END $$;
CREATE TRIGGER vercel_deployments_git_feedback
  AFTER INSERT OR UPDATE ON vercel_deployments
  FOR EACH ROW EXECUTE FUNCTION vercel_git_feedback_enqueue();

-- The feedback job's read: a pull request's deployments.
CREATE INDEX vercel_deployments_pull_request_idx ON vercel_deployments
  ((git_source->>'provider'), lower(git_source->>'repository'), (git_source->>'prNumber'))
  WHERE git_source ? 'prNumber';
