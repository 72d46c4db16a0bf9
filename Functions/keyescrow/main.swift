import Crypto
import Foundation
import Kernel
import Postgres
import Settings

// vercel-keyescrow split --threshold 3 --shares 5
//
// Splits the ring's current encryption key (the first of TOKEN_ENCRYPTION_KEYS) with Shamir's scheme
// over GF(2^8) (v2 shares: libgfshare's field, so Debian's gfcombine combines them too) and prints
// each share once, on its own line, for its holder, with the key's id and check value (an HMAC of a
// constant under the key) for them to keep. The database keeps only the check value, the threshold
// and the number of shares, so a recovery can tell the right key from a wrong one. Splitting a key
// again replaces its record (and makes the earlier shares useless for verification).
//
// vercel-keyescrow combine --key-id ID --check-value HEX --out FILE
//
// Rebuilds a key from shares read one per line on standard input, on any machine, with no service
// and no database: the result is checked against the check value, and only a key that matches is
// written, to FILE (created, mode 0600, never over an existing file; `-` for standard output) as a
// TOKEN_ENCRYPTION_KEYS entry (`ID:base64url`). Too few shares, or a wrong one, give a key that
// fails the check: nothing is written.
//
// Exit 0 done, 2 the shares do not give the key, 64 usage, 78 misconfigured, 1 failed.

func usage() -> Never {
    FileHandle.standardError.write(
        Data(
            """
            usage: vercel-keyescrow split --threshold <2-255> --shares <n>
                   vercel-keyescrow combine --key-id <id> --check-value <hex> --out <file|->  (shares on stdin)

            """.utf8))
    exit(64)
}

Release.answerVersion(program: "vercel-keyescrow")
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "combine" { Combine.run(Array(arguments.dropFirst())) }
guard arguments.first == "split" else { usage() }
var threshold: Int?
var count: Int?
var index = 1
while index < arguments.count {
    guard index + 1 < arguments.count, let value = Int(arguments[index + 1]) else { usage() }
    switch arguments[index] {
    case "--threshold": threshold = value
    case "--shares": count = value
    default: usage()
    }
    index += 2
}
guard let threshold, let count, (2...255).contains(threshold), (threshold...255).contains(count) else { usage() }

let ring: KeyRing
let databaseURL: String
do {
    ring = try EncryptionKeys.fromEnvironment()
    databaseURL = try JobConfiguration.fromEnvironment().databaseURL
} catch {
    FileHandle.standardError.write(Data("vercel-keyescrow: \(error)\n".utf8))
    exit(78)
}
do {
    let (keyID, shares, checkValue) = try ring.withCurrentKey { id, key in
        (id, try Shamir.split(key, threshold: threshold, count: count), KeyRing.checkValue(of: key))
    }
    let database = PostgresConnection(.init(url: databaseURL, applicationName: "vercel-keyescrow"))
    try database.execute(
        """
        INSERT INTO vercel_key_escrow (key_id, check_value, threshold, shares) VALUES (\(keyID), \(checkValue), \(threshold), \(count))
        ON CONFLICT (key_id) DO UPDATE SET check_value = excluded.check_value, threshold = excluded.threshold,
          shares = excluded.shares, created_at = now()
        """)
    try SecurityAuditRecord.escrowed(database, keyID: keyID, threshold: threshold, shares: count)
    print("key \(keyID): \(count) shares, any \(threshold) recover it. Give each to one holder; none is stored.")
    print(
        "check value of \(keyID): \(checkValue) (keep it with the shares: vercel-keyescrow combine checks against it)")
    for (number, share) in shares.enumerated() {
        print("share \(number + 1) of \(count): \(share.text)")
    }
} catch {
    FileHandle.standardError.write(Data("vercel-keyescrow: \(error)\n".utf8))
    exit(1)
}

/// The audit row of a split: the key id and the numbers, never a share.
enum SecurityAuditRecord {
    static func escrowed(_ database: PostgresConnection, keyID: String, threshold: Int, shares: Int) throws {
        let details = "{\"keyId\": \"\(keyID)\", \"threshold\": \(threshold), \"shares\": \(shares)}"
        try database.execute(
            """
            INSERT INTO vercel_security_audit_log (action, severity, details, correlation_id)
            VALUES ('KEY_ESCROWED', 'HIGH', \(details)::jsonb, 'vercel-keyescrow')
            """)
    }
}

/// `combine`: shares in, the checked key out, nothing else touched.
enum Combine {
    static func run(_ arguments: [String]) -> Never {
        var options: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            guard ["--key-id", "--check-value", "--out"].contains(arguments[index]), index + 1 < arguments.count else {
                usage()
            }
            options[arguments[index]] = arguments[index + 1]
            index += 2
        }
        guard let keyID = options["--key-id"],
            keyID.range(of: "^[A-Za-z0-9_-]{1,32}$", options: .regularExpression) != nil,
            let checkValue = options["--check-value"]?.lowercased(), checkValue.utf8.count == 64,
            let out = options["--out"]
        else { usage() }
        var shares: [Shamir.Share] = []
        var read = 0
        while let line = readLine(strippingNewline: true), read < 256 {
            read += 1
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let share = Shamir.Share(text: text) else {
                FileHandle.standardError.write(
                    Data("vercel-keyescrow: line \(read) is not a share (v1-xx-… or v2-xx-…)\n".utf8))
                exit(64)
            }
            shares.append(share)
        }
        guard shares.count >= 2 else {
            FileHandle.standardError.write(
                Data("vercel-keyescrow: at least two shares are needed, one per line\n".utf8))
            exit(2)
        }
        // Every share given is used: with fewer than the split's threshold the result fails the check.
        guard let key = try? Shamir.combine(shares, threshold: shares.count),
            ConstantTime.equals(KeyRing.checkValue(of: key), checkValue)
        else {
            FileHandle.standardError.write(
                Data(
                    "vercel-keyescrow: the \(shares.count) shares do not give the key with this check value (too few, or one is wrong); nothing was written\n"
                        .utf8))
            exit(2)
        }
        let entry = Array("\(keyID):\(Base64URL.encode(key))\n".utf8)
        if out == "-" {
            FileHandle.standardOutput.write(Data(entry))
            exit(0)
        }
        let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            FileHandle.standardError.write(
                Data("vercel-keyescrow: cannot create \(out): \(String(cString: strerror(errno)))\n".utf8))
            exit(1)
        }
        let written = write(descriptor, entry, entry.count)
        close(descriptor)
        guard written == entry.count else {
            unlink(out)
            FileHandle.standardError.write(Data("vercel-keyescrow: cannot write \(out)\n".utf8))
            exit(1)
        }
        FileHandle.standardError.write(
            Data("vercel-keyescrow: key \(keyID) checked and written to \(out) (mode 0600)\n".utf8))
        exit(0)
    }
}
