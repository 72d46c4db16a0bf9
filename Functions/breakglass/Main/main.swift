import BreakglassGroup
import PlatformHost

GroupServer.run(BreakglassGroup.group)
