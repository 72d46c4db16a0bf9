import FastCGI
import Kernel
import Platform

extension ConnectionError: HTTPResponseError {
    public var status: Int {
        switch self {
        case .notConnected: PlatformError.authRequired.status
        case .refreshNotSupported: 400
        }
    }

    public var code: String {
        switch self {
        case .notConnected: PlatformError.authRequired.code
        case .refreshNotSupported: "REFRESH_NOT_SUPPORTED"
        }
    }

    public var message: String {
        switch self {
        case .notConnected: PlatformError.authRequired.message
        case .refreshNotSupported: "This connection's token does not expire and cannot be refreshed"
        }
    }

    public var extraFields: [String: JSONValue] {
        self == .notConnected ? PlatformError.authRequired.extraFields : [:]
    }
}
