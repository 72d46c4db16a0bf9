import OAuthGroup
import Platform

GroupFunction.run(OAuthGroup.group)
