/// One result row in text format, read by column name.
public struct PostgresRow: Sendable {
    let columnIndex: [String: Int]
    let values: [String?]

    /// The raw text of `column`, nil for NULL or an unknown column.
    public subscript(_ column: String) -> String? {
        columnIndex[column].flatMap { values[$0] }
    }

    /// The value of a NOT NULL column.
    /// - Throws: `PostgresError.decoding` when it is NULL, missing, or not a `T`.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let text = self[column], let value = T(postgresText: text) else {
            throw PostgresError.decoding(column: column, type: "\(T.self)")
        }
        return value
    }

    /// The value of a nullable column: nil for NULL.
    /// - Throws: `PostgresError.decoding` when it is present but not a `T`, or the column is missing.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard columnIndex[column] != nil else { throw PostgresError.decoding(column: column, type: "\(T.self)") }
        guard let text = self[column] else { return nil }
        guard let value = T(postgresText: text) else { throw PostgresError.decoding(column: column, type: "\(T.self)") }
        return value
    }
}
