/// What the connection store and the token service refuse.
public enum ConnectionError: Error, Equatable {
    /// The connection has no usable token: never connected, disconnected, revoked.
    case notConnected
    /// The connection's token does not expire, so there is nothing to refresh.
    case refreshNotSupported
}
