import DeploymentsGroup
import Platform

GroupServer.run(DeploymentsGroup.group)
