/// Where a sealed secret lives: its table, column and row. It is the associated data of the
/// ciphertext, so a value copied to another row or column fails to open.
public struct SealContext: Sendable, Equatable {
    public let table: String
    public let column: String
    public let rowID: String

    public init(table: String, column: String, rowID: String) {
        self.table = table
        self.column = column
        self.rowID = rowID
    }

    func associatedData(keyID: String) -> [UInt8] {
        // Length-prefixed fields: no choice of names can make two contexts encode alike.
        var out = Array("sheen.vercel.seal.v1".utf8)
        for field in [table, column, rowID, keyID] {
            let bytes = Array(field.utf8)
            out += withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init)
            out += bytes
        }
        return out
    }
}
