import DomainsGroup
import Platform

GroupServer.run(DomainsGroup.group)
