import Crypto
import Foundation
import Kernel
import Postgres
import Settings

// vercel-keyescrow split --threshold 3 --shares 5
//
// Splits the ring's current encryption key (the first of TOKEN_ENCRYPTION_KEYS) with Shamir's scheme
// over GF(2^8) and prints each share once, on its own line, for its holder. The database keeps only
// the key's check value (an HMAC of a constant under the key), the threshold and the number of
// shares, so a recovery can tell the right key from a wrong one. Splitting a key again replaces its
// record (and makes the earlier shares useless for verification). Exit 0 done, 64 usage, 78
// misconfigured, 1 failed.

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: vercel-keyescrow split --threshold <2-255> --shares <n>\n".utf8))
    exit(64)
}

Release.answerVersion(program: "vercel-keyescrow")
let arguments = Array(CommandLine.arguments.dropFirst())
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
