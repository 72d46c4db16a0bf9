import Testing

/// The suites whose tests run `vercel-job-deployment-sync` and look at what it did to their own
/// deployments. The job works through everything due, whoever's, so two of these running at once
/// would register, probe or finalize each other's deployments at moments their tests do not
/// expect: they run one test at a time, beside the rest of the tests.
@Suite(.serialized) enum SyncJobSuites {}
