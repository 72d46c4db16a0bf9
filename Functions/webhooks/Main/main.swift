import Platform
import WebhooksGroup

GroupFunction.run(WebhooksGroup.group)
