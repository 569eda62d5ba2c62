//! Rendering: filters, per-channel builders (exact snapshots) and the
//! campaign-creation validation with its located messages.

use herald::channels::RenderedMessage;
use herald::domain::Channel;
use herald::render::{
    CampaignContext, ItemContext, Limits, Links, RenderContext, RenderIssue, Renderer,
    SegmentContext, SmsEncoding, TemplateLibrary, UserContext, VariantContent, VariantContext,
    sms_segments, validate,
};

/// A German shopper with one recommendation.
pub fn sample_context() -> RenderContext {
    let mut attributes = serde_json::Map::new();
    attributes.insert("first_name".into(), "Ana".into());
    let mut ctx = RenderContext {
        user: UserContext {
            user_id: "u1".into(),
            email: Some("ana@example.com".into()),
            timezone: Some("Europe/Berlin".into()),
            locale: Some("de-DE".into()),
            country: Some("DE".into()),
            attributes,
            ..UserContext::default()
        },
        items: vec![ItemContext {
            item_id: "i9".into(),
            title: "Trail Runner 2".into(),
            price: Some(1234.5),
            currency: Some("EUR".into()),
            url: "https://t.example/c/i9".into(),
            reason: "because you viewed running shoes".into(),
            rank: 1,
            ..ItemContext::default()
        }],
        segment: SegmentContext {
            id: Some(2),
            description: "weekend runners".into(),
        },
        campaign: CampaignContext {
            id: "7".into(),
            name: "Weekend picks".into(),
        },
        variant: VariantContext { name: "A".into() },
        links: Links {
            click: "https://t.example/c/home".into(),
            unsubscribe: "https://t.example/u/abc".into(),
            unsubscribe_mailto: Some("mailto:unsub@example.com?subject=u1".into()),
            open_pixel: Some("https://t.example/o/abc.gif".into()),
        },
        ..RenderContext::default()
    };
    ctx.delivery.data.insert("message_id".into(), "m-1".into());
    ctx
}

/// Variant A of the SPEC example.
pub fn sample_variant() -> VariantContent {
    VariantContent {
        name: "A".into(),
        title: Some("{{ user.first_name }}, {{ items[0].title }} is back".into()),
        body: Some("From {{ items[0].price | money(items[0].currency) }}".into()),
        email_subject: Some(
            "{{ user.first_name | default('Hi') }}: picks for {{ segment.description }}".into(),
        ),
        email_template: Some("weekly_picks".into()),
        ..VariantContent::default()
    }
}

fn renderer(content: &VariantContent) -> Renderer {
    Renderer::new(content, &TemplateLibrary::builtin()).unwrap()
}

fn one(content: VariantContent) -> Vec<String> {
    one_with(content, &Limits::default())
}

fn one_with(content: VariantContent, limits: &Limits) -> Vec<String> {
    match validate(&[content], &[sample_context()], limits) {
        Ok(()) => Vec::new(),
        Err(issues) => issues.iter().map(RenderIssue::to_string).collect(),
    }
}

fn with_title(title: &str) -> VariantContent {
    VariantContent {
        name: "A".into(),
        title: Some(title.into()),
        body: Some("ok".into()),
        ..VariantContent::default()
    }
}

#[test]
fn money_formats_by_locale_and_currency() {
    let content = with_title(
        "{{ 1234.5 | money('EUR', 'de-DE') }} / {{ 1234.5 | money('USD', 'en-US') }} / {{ 3 | money('EUR') }}",
    );
    let push = renderer(&content).push(&sample_context()).unwrap();
    assert_eq!(push.title, "1.234,50 € / $1,234.50 / 3,00 €");
}

#[test]
fn dates_are_shown_in_the_users_timezone() {
    let content = with_title(
        "{{ '2026-11-28T09:30:00Z' | datetime('%Y-%m-%d %H:%M %Z') }} {{ 1796000000 | date }}",
    );
    let push = renderer(&content).push(&sample_context()).unwrap();
    assert_eq!(push.title, "2026-11-28 10:30 CET 30 Nov 2026");
}

#[test]
fn truncate_title_and_default_cover_the_common_cases() {
    let content = with_title(
        "{{ 'the quick brown fox jumps' | truncate(15) }}|{{ 'ana maria' | title }}|{{ user.city | default('your city') }}|{{ user.city }}",
    );
    let push = renderer(&content).push(&sample_context()).unwrap();
    assert_eq!(push.title, "the quick...|Ana Maria|your city|");
}

#[test]
fn the_push_snapshot_carries_deep_link_and_tracking_ids() {
    let push = renderer(&sample_variant()).push(&sample_context()).unwrap();
    assert_eq!(push.title, "Ana, Trail Runner 2 is back");
    assert_eq!(push.body, "From 1.234,50 €");
    assert_eq!(push.deep_link.as_deref(), Some("https://t.example/c/home"));
    assert_eq!(push.thread_id.as_deref(), Some("campaign-7"));
    let data: Vec<String> = push.data.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        data,
        [
            "campaign_id=7",
            "item_ids=i9",
            "message_id=m-1",
            "user_id=u1",
            "variant=A"
        ]
    );
    assert_eq!(
        herald::channels::apns::payload_json(&push).unwrap(),
        "{\"aps\":{\"alert\":{\"title\":\"Ana, Trail Runner 2 is back\",\"body\":\"From 1.234,50 €\"},\
         \"thread-id\":\"campaign-7\"},\"campaign_id\":\"7\",\"deep_link\":\"https://t.example/c/home\",\
         \"item_ids\":\"i9\",\"message_id\":\"m-1\",\"user_id\":\"u1\",\"variant\":\"A\"}"
    );
}

#[test]
fn the_sms_snapshot_uses_sms_body_or_body() {
    let mut content = sample_variant();
    let sms = renderer(&content).sms(&sample_context()).unwrap();
    assert_eq!(sms.body, "From 1.234,50 €");
    content.sms_body =
        Some("{{ user.first_name }}: {{ items[0].title }} {{ items[0].url }}".into());
    let sms = renderer(&content).sms(&sample_context()).unwrap();
    assert_eq!(sms.body, "Ana: Trail Runner 2 https://t.example/c/i9");
}

#[test]
fn the_webhook_snapshot_is_one_json_document() {
    let hook = renderer(&sample_variant())
        .webhook(&sample_context())
        .unwrap();
    let expected = serde_json::json!({
        "campaign": {"id": "7", "name": "Weekend picks"},
        "variant": "A",
        "user_id": "u1",
        "title": "Ana, Trail Runner 2 is back",
        "body": "From 1.234,50 €",
        "deep_link": "https://t.example/c/home",
        "items": [{"item_id": "i9", "title": "Trail Runner 2", "url": "https://t.example/c/i9",
                   "reason": "because you viewed running shoes", "rank": 1}],
        "links": {"click": "https://t.example/c/home", "unsubscribe": "https://t.example/u/abc"},
        "data": {"campaign_id": "7", "item_ids": "i9", "message_id": "m-1", "user_id": "u1", "variant": "A"},
    });
    assert_eq!(hook.body, expected);
}

#[test]
fn the_email_snapshot_has_subject_links_and_a_text_alternative() {
    let email = renderer(&sample_variant())
        .email(&sample_context())
        .unwrap();
    assert_eq!(email.subject, "Ana: picks for weekend runners");
    assert_eq!(
        email.unsubscribe_url.as_deref(),
        Some("https://t.example/u/abc")
    );
    assert_eq!(
        email.text,
        "Ana, your picks this week\n\nChosen for weekend runners.\n\n\
         Trail Runner 2 (https://t.example/c/i9)\n1.234,50 €\nbecause you viewed running shoes\n\n\
         --\nUnsubscribe: https://t.example/u/abc\n"
    );
    assert!(
        email
            .html
            .contains("<a href=\"https://t.example/c/i9\" style=\"color:#0b69a3;"),
        "{}",
        email.html
    );
    assert!(
        email
            .html
            .contains("<img src=\"https://t.example/o/abc.gif\" width=\"1\" height=\"1\"")
    );
    assert!(!email.html.to_lowercase().contains("<script"));
}

#[test]
fn hostile_attributes_are_escaped_in_email_html() {
    let mut ctx = sample_context();
    ctx.user
        .attributes
        .insert("first_name".into(), "<script>alert(1)</script>".into());
    let email = renderer(&sample_variant()).email(&ctx).unwrap();
    assert!(
        email.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        email.html
    );
    assert!(!email.html.contains("<script>"));
    assert!(
        email
            .text
            .starts_with("<script>alert(1)</script>, your picks"),
        "{}",
        email.text
    );
}

#[test]
fn a_channel_without_its_field_is_named() {
    let content = with_title("x");
    let err = renderer(&content).email(&sample_context()).unwrap_err();
    assert_eq!(err.to_string(), "variant A: email needs `email_subject`");
    let rendered = renderer(&sample_variant())
        .render(Channel::Sms, &sample_context())
        .unwrap();
    assert!(matches!(rendered, RenderedMessage::Sms(_)));
}

#[test]
fn validation_names_a_syntax_error_with_its_line() {
    let issues = one(with_title("Hello\n{{ user.first_name "));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].starts_with("variant A: title: line 2: syntax error:"),
        "{issues:?}"
    );
}

#[test]
fn validation_names_an_unknown_variable() {
    assert_eq!(
        one(with_title("{{ user.frist_name }}, hi")),
        ["variant A: title: line 1: unknown variable user.frist_name"]
    );
    assert_eq!(
        one(with_title("hi\n{% if false %}{{ usr.name }}{% endif %}")),
        ["variant A: title: line 2: unknown variable usr.name"]
    );
}

#[test]
fn validation_names_an_unknown_filter_even_in_an_untaken_branch() {
    let issues = one(with_title(
        "{% if false %}\n{{ user.first_name | shout }}{% endif %}",
    ));
    assert_eq!(issues, ["variant A: title: line 2: unknown filter shout"]);
}

#[test]
fn validation_rejects_a_push_over_the_apns_limit() {
    let issues = one(with_title(&"x".repeat(4100)));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].starts_with("variant A: push: APNs payload is 4"),
        "{issues:?}"
    );
    assert!(
        issues[0].ends_with("bytes for user u1, over the 4096-byte limit"),
        "{issues:?}"
    );
}

#[test]
fn validation_rejects_scripts_in_email_html() {
    let content = VariantContent {
        email_subject: Some("s".into()),
        email_html: Some("<p>hi</p>\n<a href=\"#\" onclick=\"x()\">go</a>".into()),
        ..with_title("t")
    };
    let issues = one(content);
    assert_eq!(
        issues,
        [
            "variant A: email_html: line 2: scripts are not allowed in email HTML (script tags, on* handlers, javascript: URLs)"
        ]
    );
}

#[test]
fn validation_accepts_the_spec_example() {
    assert!(one(sample_variant()).is_empty());
}

#[test]
fn sms_segments_follow_the_gsm7_boundaries() {
    let count = |n: usize| sms_segments(&"a".repeat(n));
    assert_eq!(
        (count(160).encoding, count(160).segments),
        (SmsEncoding::Gsm7, 1)
    );
    assert_eq!(count(161).segments, 2);
    assert_eq!(count(306).segments, 2);
    assert_eq!(count(307).segments, 3);
    // `€` costs two septets: 80 of them fill one part exactly.
    assert_eq!(sms_segments(&"€".repeat(80)).segments, 1);
    assert_eq!(sms_segments(&"€".repeat(81)).segments, 2);
}

#[test]
fn sms_segments_follow_the_ucs2_boundaries() {
    let count = |n: usize| sms_segments(&format!("ж{}", "a".repeat(n - 1)));
    assert_eq!(
        (count(70).encoding, count(70).segments),
        (SmsEncoding::Ucs2, 1)
    );
    assert_eq!(count(71).segments, 2);
    assert_eq!(count(134).segments, 2);
    assert_eq!(count(135).segments, 3);
    // An emoji is a surrogate pair: two units, never split.
    assert_eq!(sms_segments(&"😀".repeat(35)).units, 70);
    assert_eq!(sms_segments(&"😀".repeat(35)).segments, 1);
}

#[test]
fn validation_caps_sms_segments() {
    let limits = Limits {
        channels: vec![Channel::Sms],
        sms_max_segments: 1,
        ..Limits::default()
    };
    let content = VariantContent {
        sms_body: Some("ж".repeat(71)),
        ..with_title("t")
    };
    assert_eq!(
        one_with(content, &limits),
        ["variant A: sms: SMS is 2 segments (Ucs2, 71 units) for user u1, over the cap of 1"]
    );
    let content = VariantContent {
        sms_body: Some("a".repeat(160)),
        ..with_title("t")
    };
    assert!(one_with(content, &limits).is_empty());
}
