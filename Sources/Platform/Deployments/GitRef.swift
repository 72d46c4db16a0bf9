/// Git's rules for a branch name (`git check-ref-format --branch`), with a length limit.
public enum GitRef {
    public static func isValidBranch(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...255).contains(bytes.count), name != "@", !name.hasPrefix("-") else { return false }
        let forbidden: Set<UInt8> = [0x20, 0x7e, 0x5e, 0x3a, 0x3f, 0x2a, 0x5b, 0x5c, 0x7f]  // space ~ ^ : ? * [ \ DEL
        guard bytes.allSatisfy({ $0 >= 0x20 && !forbidden.contains($0) }) else { return false }
        guard !name.contains(".."), !name.contains("@{"), !name.contains("//") else { return false }
        guard !name.hasPrefix("/"), !name.hasSuffix("/"), !name.hasSuffix("."), !name.hasSuffix(".lock") else {
            return false
        }
        return name.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.hasSuffix(".lock") }
    }
}
