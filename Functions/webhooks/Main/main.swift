import Platform
import WebhooksGroup

GroupServer.run(WebhooksGroup.group)
