//! The validators against the inputs administrators type, and the document's patterns against the
//! validators.

use super::*;

#[test]
fn a_domain_is_a_host_name_and_nothing_else() {
    assert_eq!(Domain::parse(" Contoso.OnMicrosoft.com. ").unwrap().as_str(), "contoso.onmicrosoft.com");
    assert_eq!(Domain::parse("fabrikam-gov.onmicrosoft.us").unwrap().as_str(), "fabrikam-gov.onmicrosoft.us");
    for bad in [
        "",
        "contoso",
        "https://contoso.com",
        "contoso.com/x",
        "admin@contoso.com",
        "contoso.com:443",
        "127.0.0.1",
        "-contoso.com",
        "con toso.com",
        "contoso..com",
        "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60",
        "xn--.com",
    ] {
        let e = Domain::parse(bad).unwrap_err();
        assert_eq!(e.field, Field::Domain, "{bad}");
    }
    assert!(Domain::parse(&format!("{}.com", "a".repeat(64))).is_err());
}

#[test]
fn guid_table() {
    let ok = [
        ("72f988bf-86f1-41af-91ab-2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("  72F988BF-86F1-41AF-91AB-2D7CD011DB47 ", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("{72f988bf-86f1-41af-91ab-2d7cd011db47}", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
    ];
    for (input, want) in ok {
        assert_eq!(TenantId::parse(input).unwrap().as_str(), want, "{input:?}");
        assert_eq!(AppId::parse(input).unwrap().as_str(), want, "{input:?}");
    }
    let bad = [
        "",
        "   ",
        "72f988bf86f141af91ab2d7cd011db47",
        "72f988bf-86f1-41af-91ab-2d7cd011db4",
        "72f988bf-86f1-41af-91ab-2d7cd011db477",
        "72f988bg-86f1-41af-91ab-2d7cd011db47",
        "72f988bf_86f1_41af_91ab_2d7cd011db47",
        // Fullwidth digit seven, a Unicode look-alike.
        "\u{FF17}2f988bf-86f1-41af-91ab-2d7cd011db47",
        "72f988bf-86f1-41af-91ab-2d7cd011db47\0",
        "<script>alert(1)</script>",
    ];
    for input in bad {
        let e = TenantId::parse(input).unwrap_err();
        assert_eq!(e.field, Field::TenantId, "{input:?}");
        let e = AppId::parse(input).unwrap_err();
        assert_eq!(e.field, Field::ApplicationId, "{input:?}");
    }
    assert!(TenantId::parse(&"a".repeat(100_000)).is_err());
}

#[test]
fn tenant_id_typed_as_a_domain_explains_where_the_guid_is() {
    for domain in ["contoso.onmicrosoft.com", "contoso.com", "fabrikam.partner.onmschina.cn"] {
        let e = TenantId::parse(domain).unwrap_err();
        assert!(e.message.contains("GUID, not a domain name"), "{domain}: {}", e.message);
        assert!(e.message.contains("Overview, Tenant ID"));
    }
    let e = TenantId::parse("not a tenant").unwrap_err();
    assert!(e.message.starts_with("The tenant ID must be a GUID"));
}

#[test]
fn empty_ids_ask_for_a_value() {
    assert!(TenantId::parse("").unwrap_err().message.starts_with("Enter the tenant ID"));
    assert!(AppId::parse(" ").unwrap_err().message.starts_with("Enter the application ID"));
}

#[test]
fn organization_name_table() {
    let ok = [
        ("Contoso", "Contoso"),
        ("  Contoso Ltd.  ", "Contoso Ltd."),
        ("<script>alert('x')</script>", "<script>alert('x')</script>"),
        ("Müller & Söhne GmbH", "Müller & Söhne GmbH"),
        ("北京公司", "北京公司"),
    ];
    for (input, want) in ok {
        assert_eq!(OrganizationName::parse(input).unwrap().as_str(), want);
    }
    let hundred = "é".repeat(100);
    assert!(OrganizationName::parse(&hundred).is_ok(), "100 characters are allowed, whatever their bytes");
    let bad = [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        (&"x".repeat(101), "at most 100"),
        (&"x".repeat(1_000_000), "at most 100"),
        ("Con\0toso", "control characters"),
        ("Con\ntoso", "control characters"),
        ("Con\u{7f}toso", "control characters"),
        ("Contoso\u{202E}gnp.exe", "invisible or text-direction"),
        ("Con\u{200B}toso", "invisible or text-direction"),
    ];
    for (input, want) in bad {
        let e = OrganizationName::parse(input).unwrap_err();
        assert_eq!(e.field, Field::OrganizationName);
        assert!(e.message.contains(want), "{input:?}: {}", e.message);
    }
}

#[test]
fn deserializing_validates() {
    let e = serde_json::from_str::<TenantId>("\"contoso.com\"").unwrap_err();
    assert!(e.to_string().contains("not a domain name"));
    let n: OrganizationName = serde_json::from_str("\"  Contoso \"").unwrap();
    assert_eq!(n.as_str(), "Contoso");
}

#[test]
fn client_secret_table() {
    let ok = ["abc8Q~xYz.1234567890_ABCdefGHIjklMNOpqrSTU", "  Zk8Q~short-1  "];
    for input in ok {
        let s = client_secret(&SecretString::new(input.into())).unwrap();
        assert_eq!(s.expose(), input.trim());
    }
    let bad = [
        ("", "Enter the application password"),
        ("two words", "spaces"),
        ("tab\there", "spaces"),
        ("sécret", "special characters"),
        ("nul\0", "spaces or special"),
        ("0f0e1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b", "secret's ID, not its value"),
    ];
    for (input, want) in bad {
        let e = client_secret(&SecretString::new(input.into())).unwrap_err();
        assert_eq!(e.field, Field::ClientSecret);
        assert!(e.message.contains(want), "{input:?}: {}", e.message);
        assert!(!e.message.contains(input) || input.is_empty(), "a refusal never echoes the secret");
    }
    let long = "a".repeat(CLIENT_SECRET_MAX_LENGTH + 1);
    assert!(client_secret(&SecretString::new(long)).unwrap_err().message.contains("at most"));
}

#[test]
fn certificate_password_may_be_empty_but_bounded() {
    assert!(certificate_password(&SecretString::new(String::new())).is_ok());
    assert!(certificate_password(&SecretString::new("p@ss word ✓".into())).is_ok());
    assert!(certificate_password(&SecretString::new("a\0b".into())).is_err());
    assert!(certificate_password(&SecretString::new("a".repeat(257))).is_err());
}

#[test]
fn pfx_upload_decodes_and_bounds_size() {
    let b64 = base64::engine::general_purpose::STANDARD.encode([0x30u8, 0x82, 0x01]);
    assert_eq!(pfx_upload(&SecretString::new(b64)).unwrap().expose(), &[0x30, 0x82, 0x01]);
    let e = pfx_upload(&SecretString::new("not base64!!".into())).unwrap_err();
    assert!(e.message.contains("not valid base64"));
    assert!(pfx_upload(&SecretString::new(String::new())).unwrap_err().message.contains("Choose"));
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; PFX_MAX_BYTES + 1]);
    assert!(pfx_upload(&SecretString::new(big)).unwrap_err().message.contains("larger than 64 KB"));
    let huge = "A".repeat(10 * PFX_MAX_BYTES);
    assert!(pfx_upload(&SecretString::new(huge)).unwrap_err().message.contains("larger than"));
}

/// The patterns the OpenAPI document states accept exactly what the parsers accept.
#[test]
fn the_documents_patterns_state_the_parsers_rules() {
    let name = regex::Regex::new(ORGANIZATION_NAME_PATTERN).unwrap();
    let domain = regex::Regex::new(DOMAIN_PATTERN).unwrap();
    let guid = regex::Regex::new(GUID_PATTERN).unwrap();
    let mut inputs: Vec<String> = [
        "",
        " ",
        "a",
        " Contoso ",
        "\tContoso\n",
        "Con\ttoso",
        "Con\u{200B}toso",
        "\u{FEFF}Contoso",
        "a\u{00A0}b",
        "\u{00A0}a\u{00A0}",
        "a\u{2028}b",
        "\u{001C}a",
        "a\u{0085}",
        "Contoso <b>",
        "contoso.com",
        "CONTOSO.COM.",
        " contoso.onmicrosoft.com ",
        "contoso",
        "contoso.c",
        "contoso.c0m",
        "-contoso.com",
        "contoso-.com",
        "a..com",
        "https://contoso.com",
        "user@contoso.com",
        "contoso.com:443",
        "contoso.com .",
        "xn--bcher-kva.example",
        "bücher.example",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "{0F8FAD5B-D9CB-469F-A165-70867728950E}",
        " 0f8fad5b-d9cb-469f-a165-70867728950e\n",
        "{0f8fad5b-d9cb-469f-a165-70867728950e",
        "0f8fad5b-d9cb-469f-a165",
    ]
    .map(String::from)
    .to_vec();
    inputs.push("x".repeat(100));
    inputs.push("x".repeat(101));
    inputs.push(format!("  {}  ", "x".repeat(100)));
    inputs.push(format!("{}.com", "a".repeat(63)));
    inputs.push(format!("{}.com", "a".repeat(64)));
    // Every short string over a small alphabet with the edge characters.
    let alphabet = ['a', 'Z', '0', '-', '.', ' ', '\t', '\u{200E}', '\u{00A0}', '{', '}'];
    for n in 0..=4u32 {
        for k in 0..alphabet.len().pow(n) {
            let mut k = k;
            let mut s = String::new();
            for _ in 0..n {
                s.push(alphabet[k % alphabet.len()]);
                k /= alphabet.len();
            }
            inputs.push(s);
        }
    }
    for input in &inputs {
        assert_eq!(name.is_match(input), OrganizationName::parse(input).is_ok(), "name {input:?}");
        let domain_ok = domain.is_match(input) && input.chars().count() <= DOMAIN_MAX_LENGTH;
        assert_eq!(domain_ok, Domain::parse(input).is_ok(), "domain {input:?}");
        assert_eq!(guid.is_match(input), TenantId::parse(input).is_ok(), "tenant ID {input:?}");
        assert_eq!(guid.is_match(input), AppId::parse(input).is_ok(), "application ID {input:?}");
    }
}
