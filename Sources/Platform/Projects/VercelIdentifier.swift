/// What an identifier or name of Vercel's may hold: project ids (`prj_…`) and names, deployment
/// ids, team ids. Checked before anything is sent to Vercel or stored, so an oversized or odd
/// value is a 400 here rather than a 502 from Vercel or a refusal from Postgres.
public enum VercelIdentifier {
    /// 1 to `maxLength` bytes of letters, digits, `.`, `_` and `-`.
    public static func isValid(_ text: String, maxLength: Int = 255) -> Bool {
        (1...maxLength).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    /// A name Vercel accepts for a new project: 1 to 100 lowercase letters, digits, `.`, `_`, `-`.
    public static func isValidProjectName(_ name: String) -> Bool {
        isValid(name, maxLength: 100) && !name.utf8.contains { (0x41...0x5a).contains($0) } && !name.contains("---")
    }
}
