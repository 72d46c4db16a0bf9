/// The request being served, for whatever runs on its behalf: the host binds it around each
/// handler (`HTTPApplication`), and every log line written meanwhile carries it as `request.id`,
/// whichever logger writes it (a store's, a client's, the worker's).
public enum Trace {
    /// The id of the request being served; nil between requests and in jobs.
    @TaskLocal public static var requestID: String?
}
