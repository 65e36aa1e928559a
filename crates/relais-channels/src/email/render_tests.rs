use super::*;
use serde_json::json;

#[test]
fn liquid_renders_globals_loops_and_filters() {
    let ctx = json!({
        "first_name": "Ana",
        "products": [{"name": "Tea", "price": 4.5}, {"name": "Cup", "price": 12}],
    });
    let out = render_liquid(
        "Hi {{ first_name | upcase }}!{% for p in products %} {{ p.name }}={{ p.price }}{% endfor %}",
        &ctx,
    )
    .unwrap();
    assert_eq!(out, "Hi ANA! Tea=4.5 Cup=12");
    // Cached templates give the same answer with another context.
    let again = render_liquid("Hi {{ first_name | upcase }}!", &json!({"first_name": "Bo"})).unwrap();
    assert_eq!(again, "Hi BO!");
    assert_eq!(render_liquid("plain", &serde_json::Value::Null).unwrap(), "plain");
}

#[test]
fn liquid_errors_say_what_and_where() {
    let err = render_liquid("line one\n{% if x %}never closed", &json!({})).unwrap_err();
    match &err {
        RenderError::LiquidParse(m) => assert!(m.contains("2"), "line number missing: {m}"),
        other => panic!("{other:?}"),
    }
    let err = render_liquid("Hello {{ missing_var }}", &json!({})).unwrap_err();
    assert!(matches!(err, RenderError::LiquidRender(_)), "{err:?}");
    assert!(err.to_string().contains("missing_var"), "{err}");
    let err = render_liquid("x", &json!([1])).unwrap_err();
    assert_eq!(err, RenderError::Context("got an array".into()));
}

#[test]
fn mjml_renders_to_html() {
    let html = mjml_to_html(
        r#"<mjml><mj-body><mj-section><mj-column>
             <mj-text>Hello &amp; welcome</mj-text>
             <mj-button href="https://shop.example/sale">Shop now</mj-button>
           </mj-column></mj-section></mj-body></mjml>"#,
    )
    .unwrap();
    assert!(html.starts_with("<!doctype html>"), "{}", &html[..40]);
    assert!(html.contains("Hello &amp; welcome"));
    assert!(html.contains(r#"href="https://shop.example/sale""#));
    let text = html_to_text(&html);
    assert_eq!(text, "Hello & welcome\n\nShop now (https://shop.example/sale)");
}

#[test]
fn mjml_errors_are_reported() {
    let err = mjml_to_html("<mjml><mj-body><mj-section>").unwrap_err();
    assert!(matches!(err, RenderError::MjmlParse(_)), "{err:?}");
    assert!(mjml_to_html("<p>not mjml</p>").is_err());
}

#[test]
fn text_part_of_a_typical_email() {
    let html = r##"<!DOCTYPE html><html><head><title>T</title>
      <style>p { color: red }</style><script>var a = "<p>no</p>";</script></head>
      <body>
      <div style="display: none; max-height:0">Preheader &zwnj;&nbsp;&#847;</div>
      <h1>Big   sale</h1>
      <p>Dear <b>Ana</b>,<br>prices&nbsp;drop &amp; stay &lt;low&gt;. It&#39;s &quot;true&quot;.</p>
      <p><a href="https://x.example/a?b=1&amp;c=2">See offers</a> or
         <a href="mailto:help@x.example">help@x.example</a>,
         <a href="#top">top</a>, <a href="https://x.example/">https://x.example</a></p>
      <ul><li>One</li><li>Two <a href="/t">t</a></li></ul>
      <ol><li>First</li><li>Second</li></ol>
      <p></p><p></p><div></div>
      <table><tr><td>Cell 1</td><td>Cell 2</td></tr></table>
      <img src="https://x.example/o.gif" alt="" width="1">
      </body></html>"##;
    let text = html_to_text(html);
    let want = "Big sale\n\n\
                Dear Ana,\nprices drop & stay <low>. It's \"true\".\n\n\
                See offers (https://x.example/a?b=1&c=2) or help@x.example, top, https://x.example\n\n\
                - One\n- Two t (/t)\n\n\
                1. First\n2. Second\n\n\
                Cell 1 Cell 2";
    assert_eq!(text, want);
}

#[test]
fn text_part_edge_cases() {
    assert_eq!(html_to_text(""), "");
    assert_eq!(html_to_text("just text"), "just text");
    assert_eq!(html_to_text("a<br><br><br><br>b"), "a\n\nb");
    assert_eq!(
        html_to_text("<ul><li>a<ul><li>b</li></ul></li></ul>"),
        "- a\n  - b"
    );
    assert_eq!(
        html_to_text("<a href=\"https://x\"><img alt=\"Logo\"></a>Text"),
        "Text"
    );
    assert_eq!(html_to_text("<a href=\"https://x\"></a>"), "");
    assert_eq!(html_to_text("x<hr>y"), "x\n-----\ny");
    assert_eq!(html_to_text("<p>unclosed <b>tags"), "unclosed tags");
}
