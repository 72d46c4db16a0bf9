import OptimizationGroup
import Platform

GroupServer.run(OptimizationGroup.group)
