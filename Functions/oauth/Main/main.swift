import OAuthGroup
import PlatformHost

GroupServer.run(OAuthGroup.group)
