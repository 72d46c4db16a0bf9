import EnvGroup
import PlatformHost

GroupServer.run(EnvGroup.group)
