import OptimizationGroup
import Platform

GroupFunction.run(OptimizationGroup.group)
