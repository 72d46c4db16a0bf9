import BreakglassGroup
import Platform

GroupServer.run(BreakglassGroup.group)
