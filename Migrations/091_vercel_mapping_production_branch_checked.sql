-- When the link's production branch was last read from Vercel: the guardrail follows Vercel's
-- production branch, re-reading it once this is older than a short while.
ALTER TABLE vercel_project_mappings ADD COLUMN production_branch_checked_at TIMESTAMPTZ;
