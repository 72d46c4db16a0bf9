import OptimizationGroup
import PlatformHost

GroupServer.run(OptimizationGroup.group)
