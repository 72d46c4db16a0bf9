import DeploymentsGroup
import PlatformHost

GroupServer.run(DeploymentsGroup.group)
