//! Criterion benchmark of rendering one user's messages: a push (title,
//! body, deep link, tracking data) and an email (the `weekly_picks` body
//! with HTML escaping inside the askama frame, plus its text twin), from
//! a variant compiled once.
//!
//! ```sh
//! cargo bench --bench render
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use herald::render::{
    CampaignContext, ItemContext, Links, RenderContext, Renderer, SegmentContext, TemplateLibrary,
    UserContext, VariantContent, VariantContext,
};

/// A shopper with three recommendations.
fn context() -> RenderContext {
    let mut attributes = serde_json::Map::new();
    attributes.insert("first_name".into(), "Ana".into());
    let items = (1..=3)
        .map(|rank| ItemContext {
            item_id: format!("i{rank}"),
            title: format!("Trail Runner {rank}"),
            price: Some(99.5 * f64::from(rank)),
            currency: Some("EUR".into()),
            url: format!("https://t.example/c/i{rank}"),
            image_url: Some(format!("https://cdn.example/i{rank}.jpg")),
            reason: "because you viewed running shoes".into(),
            rank,
            ..ItemContext::default()
        })
        .collect();
    RenderContext {
        user: UserContext {
            user_id: "u1".into(),
            timezone: Some("Europe/Berlin".into()),
            locale: Some("de-DE".into()),
            attributes,
            ..UserContext::default()
        },
        items,
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
            unsubscribe_mailto: None,
            open_pixel: Some("https://t.example/o/abc.gif".into()),
        },
        ..RenderContext::default()
    }
}

/// The SPEC §4 example variant.
fn variant() -> VariantContent {
    VariantContent {
        name: "A".into(),
        title: Some("{{ user.first_name }}, {{ items[0].title }} is back".into()),
        body: Some("From {{ items[0].price | money(items[0].currency) }}".into()),
        email_subject: Some("{{ user.first_name }}: picks for {{ segment.description }}".into()),
        email_template: Some("weekly_picks".into()),
        ..VariantContent::default()
    }
}

/// Push, email, and both for one user.
fn render(c: &mut Criterion) {
    let renderer =
        Renderer::new(&variant(), &TemplateLibrary::builtin()).expect("variant compiles");
    let ctx = context();
    c.bench_function("render push", |b| b.iter(|| renderer.push(black_box(&ctx))));
    c.bench_function("render email", |b| {
        b.iter(|| renderer.email(black_box(&ctx)))
    });
    c.bench_function("render push + email", |b| {
        b.iter(|| {
            (
                renderer.push(black_box(&ctx)),
                renderer.email(black_box(&ctx)),
            )
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
