import EnvGroup
import Platform

GroupFunction.run(EnvGroup.group)
