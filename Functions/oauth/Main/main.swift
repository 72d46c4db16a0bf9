import OAuthGroup
import Platform

GroupServer.run(OAuthGroup.group)
