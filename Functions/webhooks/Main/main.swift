import PlatformHost
import WebhooksGroup

GroupServer.run(WebhooksGroup.group)
