import Postgres

extension DeployTarget: PostgresTextEnum {}
extension AutoDeployMode: PostgresTextEnum {}
extension GitDecision: PostgresTextEnum {}
