import DomainsGroup
import Platform

GroupFunction.run(DomainsGroup.group)
