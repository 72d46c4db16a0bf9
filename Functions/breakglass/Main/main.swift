import BreakglassGroup
import Platform

GroupFunction.run(BreakglassGroup.group)
