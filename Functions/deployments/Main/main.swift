import DeploymentsGroup
import Platform

GroupFunction.run(DeploymentsGroup.group)
