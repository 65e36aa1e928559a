//! From a send request to an addressed, personalised message: the address
//! from the profile, the content rendered with Liquid (and MJML for e-mail),
//! links made trackable and the unsubscribe headers added.

use super::links::{Link, Signer};
use relais_channels::email::{
    add_utm, html_to_text, insert_open_pixel, mjml_to_html, render_liquid, rewrite_links,
};
use relais_channels::*;
use relais_core::profile::ProfileState;
use relais_core::{Error, ErrorCode, ProfileId, WorkspaceId};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Content as the API and journeys give it: Liquid templates per channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    pub subject: String,
    #[serde(default)]
    pub mjml: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub from: Option<Mailbox>,
    #[serde(default)]
    pub reply_to: Option<Mailbox>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTemplate {
    pub url: String,
    #[serde(default = "default_event_type")]
    pub event_type: String,
    /// Sent as is under `data.payload`, beside the profile.
    #[serde(default)]
    pub payload: Value,
    /// `{"trait": …, "path": …}`: the JSON answer (or its part at `path`)
    /// becomes that trait of the profile once delivered.
    #[serde(default)]
    pub store_response: Option<Value>,
}

fn default_event_type() -> String {
    "relais.message".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub title: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(default = "default_queue")]
    pub queue: String,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub due_in_hours: Option<f64>,
}

fn default_queue() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterTemplate {
    pub html: String,
    pub from: PostalAddress,
    #[serde(default)]
    pub description: String,
}

/// Who and what a message is, for links and the Liquid context.
pub struct Subject<'a> {
    pub ws: WorkspaceId,
    pub profile: ProfileId,
    pub state: &'a ProfileState,
    pub message_id: &'a str,
    pub campaign: Option<&'a str>,
    pub marketing: bool,
    pub data: &'a Value,
    pub now: i64,
    /// `recommendations` and `nearest_store` when the content asks for them
    /// ([`commerce_globals`]); merged into the Liquid globals.
    pub commerce: Map<String, Value>,
}

/// Which commerce globals a message's content mentions (a plain text
/// search: computing them costs a model lookup and a catalog read, so a
/// template that does not name them does not pay for them).
pub fn wanted_globals(content: &Value) -> (bool, bool) {
    let text = content.to_string();
    (text.contains("recommendations"), text.contains("nearest_store"))
}

/// The product a send's `data.product` names: a product id, or an object
/// with `product_id` or `id`.
pub fn data_product(data: &Value) -> Option<&str> {
    // A journey's trigger event that is about a product (`Product Viewed`)
    // stands for `data.product`.
    let p = data
        .get("product")
        .or_else(|| data.get("trigger").filter(|t| t.get("product_id").is_some()))?;
    let id = match p {
        Value::Object(o) => o.get("product_id").or_else(|| o.get("id"))?.as_str()?,
        v => v.as_str()?,
    };
    Some(id.trim()).filter(|s| !s.is_empty())
}

fn bad(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InvalidField, format!("{field}: {msg}"))
}

fn template_err(field: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InvalidTemplate, format!("content.{field}: {e}"))
}

/// The Liquid globals: `profile` (id, traits, computed, consent), `traits`,
/// `cart`, `orders`, `data` (the trigger or the API caller's), `message`,
/// `unsubscribe_url`, `preferences_url`; `recommendations` and
/// `nearest_store` when the content mentions them (docs/channels.md).
pub fn liquid_context(s: &Subject<'_>, signer: &Signer) -> Value {
    let computed: Map<String, Value> = relais_core::computed::all_builtin(s.state, s.now)
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    let traits = Value::Object(s.state.traits.clone());
    let mut ctx = json!({
        "profile": {
            "id": s.profile.to_string(),
            "user_id": s.state.user_id,
            "traits": traits,
            "computed": computed,
            "consent": s.state.consent,
        },
        "traits": traits,
        "cart": s.state.commerce.cart,
        "orders": s.state.commerce.orders,
        "data": s.data,
        "message": { "id": s.message_id, "campaign": s.campaign },
        "unsubscribe_url": signer.url(&Link::Unsubscribe { ws: s.ws, message: s.message_id.to_owned() }),
        "preferences_url": signer.url(&Link::Preferences { ws: s.ws, profile: s.profile }),
    });
    if let Some(globals) = ctx.as_object_mut() {
        globals.extend(s.commerce.clone());
    }
    ctx
}

fn render(field: &str, src: &str, ctx: &Value) -> Result<String, Error> {
    render_liquid(src, ctx).map_err(|e| template_err(field, e))
}

fn parse<T: serde::de::DeserializeOwned>(channel: Channel, content: &Value) -> Result<T, Error> {
    serde_json::from_value(content.clone())
        .map_err(|e| bad("content", format!("not a valid {channel} content: {e}")))
}

/// The address of the profile on a channel, and its normalised key for the
/// suppression list. `Err(reason)` when the profile cannot be reached there.
pub fn address(
    channel: Channel,
    profile: ProfileId,
    state: &ProfileState,
    content: &Value,
) -> Result<(Address, Option<String>), String> {
    let trait_str = |k: &str| {
        state
            .traits
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match channel {
        Channel::Email => {
            let e = trait_str("email")
                .filter(|e| e.contains('@'))
                .ok_or("unreachable: no e-mail address")?;
            let name = trait_str("name").map(str::to_owned).or_else(|| {
                let full = [trait_str("first_name"), trait_str("last_name")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>();
                (!full.is_empty()).then(|| full.join(" "))
            });
            let a = Address::Email(Mailbox {
                address: e.to_owned(),
                name,
            });
            let key = address_key(&a);
            Ok((a, key))
        }
        Channel::Sms | Channel::Whatsapp => {
            let p = trait_str("phone")
                .and_then(e164)
                .ok_or("unreachable: no phone number in E.164 form")?;
            Ok((Address::Phone { number: p.clone() }, Some(p)))
        }
        Channel::Push => {
            let t = state.push_tokens.first().ok_or("unreachable: no push token")?;
            // APNs device tokens are 64 hex digits; FCM registration tokens are not.
            let apns = t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit());
            let platform = if apns {
                PushPlatform::Apns
            } else {
                PushPlatform::Fcm
            };
            Ok((
                Address::PushToken {
                    platform,
                    token: t.clone(),
                },
                Some(t.clone()),
            ))
        }
        Channel::Webhook => {
            let url = content
                .get("url")
                .and_then(Value::as_str)
                .ok_or("unreachable: content.url is missing")?;
            Ok((Address::Url { url: url.to_owned() }, None))
        }
        Channel::DirectMail => {
            let a = state
                .traits
                .get("address")
                .and_then(Value::as_object)
                .ok_or("unreachable: no postal address")?;
            let s = |keys: &[&str]| {
                keys.iter()
                    .find_map(|k| a.get(*k).and_then(Value::as_str))
                    .map(str::to_owned)
            };
            let name = trait_str("name").map(str::to_owned).unwrap_or_else(|| {
                [trait_str("first_name"), trait_str("last_name")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let postal = PostalAddress {
                name,
                company: s(&["company"]),
                line1: s(&["line1", "street"]).unwrap_or_default(),
                line2: s(&["line2"]),
                city: s(&["city"]).unwrap_or_default(),
                state: s(&["state"]),
                postal_code: s(&["postal_code", "postalCode", "zip"]).unwrap_or_default(),
                country: s(&["country"]).unwrap_or_default().to_uppercase(),
            };
            if let Err(problems) = relais_channels::direct_mail::validate(&postal) {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect();
                return Err(format!(
                    "unreachable: postal address invalid ({})",
                    list.join("; ")
                ));
            }
            let a = Address::Postal(postal);
            let key = address_key(&a);
            Ok((a, key))
        }
        Channel::InApp | Channel::Task => Ok((
            Address::Profile {
                profile_id: profile.to_string(),
            },
            None,
        )),
    }
}

/// A phone trait in E.164 once spaces, dots, dashes and brackets are removed.
pub fn e164(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    relais_channels::sms::is_e164(&cleaned).then_some(cleaned)
}

/// Renders the content for the channel.
pub fn content(
    channel: Channel,
    raw: &Value,
    s: &Subject<'_>,
    signer: &Signer,
    default_from: &Mailbox,
) -> Result<Content, Error> {
    let ctx = liquid_context(s, signer);
    let str_field = |name: &str| -> Result<String, Error> {
        let src = raw
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&format!("content.{name}"), "missing"))?;
        render(name, src, &ctx)
    };
    let opt_field = |name: &str| -> Result<Option<String>, Error> {
        raw.get(name)
            .and_then(Value::as_str)
            .map(|src| render(name, src, &ctx))
            .transpose()
    };
    Ok(match channel {
        Channel::Email => Content::Email(email(parse(channel, raw)?, s, signer, default_from, &ctx)?),
        Channel::Sms => Content::Sms(SmsContent {
            body: str_field("body")?,
            from: opt_field("from")?,
        }),
        Channel::Push | Channel::InApp => {
            let (title, body, image, url) = (
                str_field("title")?,
                str_field("body")?,
                opt_field("image")?,
                opt_field("url")?,
            );
            let data = raw
                .get("data")
                .and_then(Value::as_object)
                .map(|d| {
                    d.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_owned)))
                        .collect()
                })
                .unwrap_or_default();
            if channel == Channel::Push {
                Content::Push(PushContent {
                    title,
                    body,
                    image,
                    url,
                    data,
                })
            } else {
                Content::InApp(InAppContent {
                    title,
                    body,
                    image,
                    url,
                    data,
                })
            }
        }
        Channel::Whatsapp => {
            let list = |name: &str| -> Result<Vec<String>, Error> {
                let items = raw
                    .get(name)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| render(&format!("{name}[{i}]"), v.as_str().unwrap_or_default(), &ctx))
                    .collect()
            };
            Content::Whatsapp(WhatsappContent {
                template: str_field("template")?,
                language: opt_field("language")?.unwrap_or_else(|| "en_US".into()),
                body_params: list("body_params")?,
                header_params: list("header_params")?,
            })
        }
        Channel::Webhook => {
            let t: WebhookTemplate = parse(channel, raw)?;
            let store_response = match &t.store_response {
                None => None,
                Some(v) => {
                    let s = relais_core::journey::StoreResponse::parse(v)
                        .map_err(|e| Error::new(ErrorCode::InvalidField, format!("content.{e}")))?;
                    Some(ResponseTarget {
                        trait_name: s.trait_name,
                        path: s.path,
                    })
                }
            };
            let payload = json!({
                "message_id": s.message_id,
                "campaign": s.campaign,
                "profile": ctx["profile"],
                "data": s.data,
                "payload": t.payload,
            });
            Content::Webhook(WebhookContent {
                event_type: t.event_type,
                payload,
                store_response,
            })
        }
        Channel::DirectMail => {
            let t: LetterTemplate = parse(channel, raw)?;
            Content::Letter(LetterContent {
                from: t.from,
                description: t.description,
                html: render("html", &t.html, &ctx)?,
            })
        }
        Channel::Task => {
            let t: TaskTemplate = parse(channel, raw)?;
            Content::Task(TaskContent {
                title: render("title", &t.title, &ctx)?,
                instructions: render("instructions", &t.instructions, &ctx)?,
                queue: render("queue", &t.queue, &ctx)?,
                assignee: t.assignee.map(|a| render("assignee", &a, &ctx)).transpose()?,
                due_at: t.due_in_hours.map(|h| s.now + (h * 3_600_000.0) as i64),
            })
        }
    })
}

fn email(
    t: EmailTemplate,
    s: &Subject<'_>,
    signer: &Signer,
    default_from: &Mailbox,
    ctx: &Value,
) -> Result<EmailContent, Error> {
    let html = match (&t.mjml, &t.html) {
        (Some(mjml), _) => mjml_to_html(&render("mjml", mjml, ctx)?).map_err(|e| template_err("mjml", e))?,
        (None, Some(html)) => render("html", html, ctx)?,
        (None, None) => return Err(bad("content", "an e-mail needs `mjml` or `html`")),
    };
    let text = match &t.text {
        Some(text) => render("text", text, ctx)?,
        None => html_to_text(&html),
    };
    // Links: UTM parameters so the visit that follows is attributed to this
    // message, then through the click redirect. Our own links stay direct.
    let campaign = s.campaign.unwrap_or_default();
    let html = rewrite_links(&html, |url| {
        if url.starts_with(signer.base()) || !(url.starts_with("http://") || url.starts_with("https://")) {
            return None;
        }
        let target = add_utm(url, "relais", "email", campaign);
        Some(signer.url(&Link::Click {
            ws: s.ws,
            message: s.message_id.to_owned(),
            url: target,
        }))
    });
    let html = insert_open_pixel(
        &html,
        &signer.url(&Link::Open {
            ws: s.ws,
            message: s.message_id.to_owned(),
        }),
    );
    let mut headers = Vec::new();
    if s.marketing {
        let unsub = signer.url(&Link::Unsubscribe {
            ws: s.ws,
            message: s.message_id.to_owned(),
        });
        headers.push(("List-Unsubscribe".to_owned(), format!("<{unsub}>")));
        headers.push((
            "List-Unsubscribe-Post".to_owned(),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
    }
    Ok(EmailContent {
        from: t.from.unwrap_or_else(|| default_from.clone()),
        reply_to: t.reply_to,
        subject: render("subject", &t.subject, ctx)?,
        html,
        text,
        headers,
    })
}

/// The normalised form of an address kept on the suppression list.
pub fn address_key(a: &Address) -> Option<String> {
    match a {
        Address::Email(m) => Some(m.address.trim().to_lowercase()),
        Address::Phone { number } => Some(number.clone()),
        Address::PushToken { token, .. } => Some(token.clone()),
        Address::Postal(p) => Some(format!("{}|{}|{}", p.line1, p.postal_code, p.country).to_lowercase()),
        Address::Url { .. } | Address::Profile { .. } => None,
    }
}
