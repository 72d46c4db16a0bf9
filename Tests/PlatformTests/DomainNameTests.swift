import Platform
import PlatformHost
import Testing

/// What a custom domain may be, as a user types it: normalized when acceptable, refused with the
/// reason otherwise.
@Suite struct DomainNameTests {
    @Test(arguments: [
        ("shop.example.com", "shop.example.com"),
        ("Shop.Example.COM.", "shop.example.com"),
        ("  www.example.org ", "www.example.org"),
        ("bücher.example.com", "xn--bcher-kva.example.com"),
        ("xn--bcher-kva.example.com", "xn--bcher-kva.example.com"),
        ("localhost.example.com", "localhost.example.com"),
        ("test.example.org", "test.example.org"),
        ("app.0x1f.com", "app.0x1f.com"),
        ("mañana.com", "xn--maana-pta.com"),
        ("*.example.com", "*.example.com"),
        ("a-b.example.co.uk", "a-b.example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("my-app.vercel.app", "my-app.vercel.app"),
        ("123.example.com", "123.example.com"),
        (String(repeating: "a", count: 63) + ".example.com", String(repeating: "a", count: 63) + ".example.com"),
    ])
    func acceptable(text: String, ascii: String) throws {
        #expect(try DomainName(parsing: text).ascii == ascii)
    }

    @Test(arguments: [
        ("", DomainName.Problem.empty),
        ("   ", .empty),
        (".", .empty),
        ("com", .singleLabel),
        ("co.uk", .publicSuffix),
        ("CO.UK.", .publicSuffix),
        ("vercel.app", .publicSuffix),
        ("github.io", .publicSuffix),
        ("*.co.uk", .publicSuffix),
        ("192.168.1.10", .ipAddress),
        ("[::1]", .ipAddress),
        ("2001:db8::1", .ipAddress),
        ("127.1", .ipAddress),
        ("0x7f.0.0.1", .ipAddress),
        ("0177.0.0.1", .ipAddress),
        ("2130706433", .ipAddress),
        ("１２７.０.０.１", .ipAddress),
        ("shop.example.123", .numericLastLabel),
        ("shop.example.0x7f", .numericLastLabel),
        ("a.b.c.d.1", .numericLastLabel),
        ("example.com:8080", .invalidCharacter),
        ("app.localhost", .specialUse("localhost")),
        ("printer.local", .specialUse("local")),
        ("api.internal", .specialUse("internal")),
        ("shop.test", .specialUse("test")),
        ("abc.onion", .specialUse("onion")),
        ("x.alt", .specialUse("alt")),
        ("router.home.arpa", .specialUse("arpa")),
        ("localhost.localdomain", .specialUse("localdomain")),
        ("bücher.example", .specialUse("example")),
        ("shop..example.com", .labelEmpty),
        (".example.com", .labelEmpty),
        ("www.*.example.com", .misplacedWildcard),
        ("*example.com", .misplacedWildcard),
        ("example.*", .misplacedWildcard),
        ("**.example.com", .misplacedWildcard),
        ("-shop.example.com", .hyphenAtLabelEdge),
        ("shop-.example.com", .hyphenAtLabelEdge),
        (String(repeating: "a", count: 64) + ".example.com", .labelTooLong),
        ((0..<60).map { _ in "abcd" }.joined(separator: ".") + ".com", .tooLong),
    ])
    func refused(text: String, problem: DomainName.Problem) {
        #expect(throws: problem) { try DomainName(parsing: text) }
    }

    /// Spaces, underscores and other characters no hostname holds: libidn2 or the label check
    /// refuses them, whichever sees them first.
    @Test(arguments: [
        "shop example.com", "shop_front.example.com", "shop!.example.com", "exa mple.com", "a\u{0}b.example.com",
    ])
    func charactersNoHostnameHolds(text: String) {
        #expect(throws: DomainName.Problem.self) { try DomainName(parsing: text) }
    }

    @Test func theListKnowsItsWildcardsAndExceptions() {
        let list = PublicSuffixList(text: "// comment\nck\n*.ck\n!www.ck\ncom\n")
        #expect(list.isPublicSuffix("ck") && list.isPublicSuffix("anything.ck") && !list.isPublicSuffix("www.ck"))
        #expect(list.isPublicSuffix("com") && !list.isPublicSuffix("example.com"))
    }
}
