import BreakglassGroup
import DeploymentsGroup
import DomainsGroup
import EnvGroup
import FastCGI
import Foundation
import Kernel
import OAuthGroup
import OptimizationGroup
import Platform
import PlatformHost
import WebhooksGroup

// vercel-docs configuration|routes|metrics|settings-template: prints the README's configuration
// table (every variable the programs read), its route table (every route of every group), its
// metrics table (every family served), or the settings file an install starts from; all made from
// the code. `scripts/dev docs` writes the tables into the README (a test checks they match);
// scripts/install writes the template.

let groups = [
    OAuthGroup.group, WebhooksGroup.group, DeploymentsGroup.group, EnvGroup.group, DomainsGroup.group,
    BreakglassGroup.group, OptimizationGroup.group,
]

switch CommandLine.arguments.dropFirst().first {
case "configuration":
    print(ConfigurationKey.markdownTable())
case "routes":
    print(RouteTable.markdown(groups))
case "metrics":
    print(MetricFamily.markdownTable())
case "settings-template":
    print(
        ConfigurationKey.settingsTemplate(
            generated: ["SHEEN_HMAC_SECRET", "TOKEN_ENCRYPTION_KEYS", "SHEEN_AUDIT_CHECKPOINT_KEY"]),
        terminator: "")
default:
    FileHandle.standardError.write(Data("usage: vercel-docs configuration|routes|metrics|settings-template\n".utf8))
    exit(64)
}
