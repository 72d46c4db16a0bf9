internal import CLibIDN2

/// Internationalized domain names through libidn2 (UTS #46, non-transitional processing).
enum IDNA {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The ASCII (punycode) form of `name`; a name already ASCII is checked as well.
    static func toASCII(_ name: String) -> Result<String, Failure> {
        var output: UnsafeMutablePointer<CChar>?
        let status = idn2_to_ascii_8z(name, &output, Int32(IDN2_NONTRANSITIONAL.rawValue))
        defer { if let output { idn2_free(output) } }
        guard status == Int32(IDN2_OK.rawValue), let output else {
            return .failure(Failure(description: String(cString: idn2_strerror(status))))
        }
        return .success(String(cString: output))
    }
}
