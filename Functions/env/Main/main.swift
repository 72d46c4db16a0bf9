import EnvGroup
import Platform

GroupServer.run(EnvGroup.group)
