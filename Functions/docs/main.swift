import BreakglassGroup
import DeploymentsGroup
import DomainsGroup
import EnvGroup
import FastCGI
import Foundation
import OAuthGroup
import OptimizationGroup
import Platform
import PlatformHost
import WebhooksGroup

// vercel-docs configuration|routes: prints the README's configuration table (every variable the
// programs read) or its route table (every route of every group, and whether it works yet), both
// made from the code. `scripts/dev docs` writes them into the README; a test checks they match.

let groups = [
    OAuthGroup.group, WebhooksGroup.group, DeploymentsGroup.group, EnvGroup.group, DomainsGroup.group,
    BreakglassGroup.group, OptimizationGroup.group,
]

switch CommandLine.arguments.dropFirst().first {
case "configuration":
    print(ConfigurationKey.markdownTable())
case "routes":
    print(RouteTable.markdown(groups))
default:
    FileHandle.standardError.write(Data("usage: vercel-docs configuration|routes\n".utf8))
    exit(64)
}
