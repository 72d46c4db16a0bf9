import DomainsGroup
import PlatformHost

GroupServer.run(DomainsGroup.group)
