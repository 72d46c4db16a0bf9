/// A SQL statement whose values can only be bind parameters: every `\(value)` in a literal becomes
/// `$1`, `$2`, ... and travels separately from the text, so concatenating a value into SQL does not
/// type-check. Identifiers that must vary (partition names) are built inside SQL with `format('%I')`.
///
/// ```swift
/// try db.query("SELECT id FROM vercel_connections WHERE user_id = \(userID) AND status = \(status)")
/// ```
public struct SQL: Sendable {
    /// The statement text with `$n` placeholders.
    public private(set) var text: String
    /// The bind values in placeholder order, in Postgres text format; nil is SQL NULL.
    public private(set) var binds: [String?]
}

extension SQL: ExpressibleByStringInterpolation {
    public init(stringLiteral value: StaticString) {
        text = "\(value)"
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
        binds = stringInterpolation.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var binds: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            text += "\(literal)"
        }

        /// Appends `value` as the next bind parameter.
        public mutating func appendInterpolation(_ value: some PostgresBindable) {
            bind(value.postgresText)
        }

        /// Appends `value` as the next bind parameter, NULL when nil.
        public mutating func appendInterpolation(_ value: (some PostgresBindable)?) {
            bind(value?.postgresText)
        }

        /// Appends a fragment that carries no values, such as a column list several queries share.
        /// Its text, like every `SQL` text, was written in the source.
        public mutating func appendInterpolation(fragment: SQL) {
            precondition(fragment.binds.isEmpty, "a SQL fragment carries no values")
            text += fragment.text
        }

        private mutating func bind(_ text: String?) {
            binds.append(text)
            self.text += "$\(binds.count)"
        }
    }
}

extension SQL {
    /// `EXPLAIN (FORMAT JSON)` of `statement`, with its values: how Postgres would run it, without
    /// running it.
    public static func explain(_ statement: SQL) -> SQL {
        var explained = statement
        explained.text = "EXPLAIN (FORMAT JSON) " + statement.text
        return explained
    }
}
