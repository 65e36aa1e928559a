use super::*;

/// A Postfix bounce: one hard failure, one delay, original message returned whole.
const POSTFIX_DSN: &str = "Return-Path: <>\r
Received: by mx.shop.example (Postfix) id 4Xk3pQ1Zz2z9; Tue, 14 Jan 2025 10:21:07 +0100 (CET)\r
Date: Tue, 14 Jan 2025 10:21:07 +0100 (CET)\r
From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)\r
Subject: Undelivered Mail Returned to Sender\r
To: bounces@shop.example\r
Auto-Submitted: auto-replied\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status;\r
\tboundary=\"4Xk3pQ1Zz2z9.1736846467/mx.shop.example\"\r
Message-Id: <20250114092107.4Xk3pQ1Zz2z9@mx.shop.example>\r
\r
This is a MIME-encapsulated message.\r
\r
--4Xk3pQ1Zz2z9.1736846467/mx.shop.example\r
Content-Description: Notification\r
Content-Type: text/plain; charset=us-ascii\r
\r
This is the mail system at host mx.shop.example.\r
\r
I'm sorry to have to inform you that your message could not\r
be delivered to one or more recipients.\r
\r
<nobody@client.example>: host mx.client.example[203.0.113.7] said: 550 5.1.1\r
    <nobody@client.example>: Recipient address rejected: User unknown (in\r
    reply to RCPT TO command)\r
\r
--4Xk3pQ1Zz2z9.1736846467/mx.shop.example\r
Content-Description: Delivery report\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.shop.example\r
X-Postfix-Queue-ID: 4Xk3pQ1Zz2z9\r
X-Postfix-Sender: rfc822; news@shop.example\r
Arrival-Date: Tue, 14 Jan 2025 10:21:05 +0100 (CET)\r
\r
Final-Recipient: rfc822; nobody@client.example\r
Original-Recipient: rfc822;nobody@client.example\r
Action: failed\r
Status: 5.1.1\r
Remote-MTA: dns; mx.client.example\r
Diagnostic-Code: smtp; 550 5.1.1 <nobody@client.example>: Recipient address\r
    rejected: User unknown (in reply to RCPT TO command)\r
\r
Final-Recipient: rfc822; slow@other.example\r
Action: delayed\r
Status: 4.4.1\r
Diagnostic-Code: X-Postfix; connect to mx.other.example[198.51.100.9]:25:\r
    Connection timed out\r
Will-Retry-Until: Tue, 19 Jan 2025 10:21:05 +0100 (CET)\r
\r
--4Xk3pQ1Zz2z9.1736846467/mx.shop.example\r
Content-Description: Undelivered Message\r
Content-Type: message/rfc822\r
\r
Return-Path: <news@shop.example>\r
From: Shop <news@shop.example>\r
To: nobody@client.example\r
Subject: =?utf-8?q?Soldes_d=27=C3=A9t=C3=A9?=\r
Message-ID: <msg_01JHX8ZK3Q@shop.example>\r
X-Relais-Message-Id: msg_01JHX8ZK3Q\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
\r
Hello\r
\r
--4Xk3pQ1Zz2z9.1736846467/mx.shop.example--\r
";

/// An Exchange-style DSN returning only the headers, without X-Relais-Message-Id.
const HEADERS_ONLY_DSN: &str = "From: postmaster@corp.example\r
To: bounces@shop.example\r
Subject: Delivery Status Notification (Failure)\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=\"delivery-status\"; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain\r
\r
Delivery has failed.\r
--b1\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns;mail.corp.example\r
\r
Final-Recipient: RFC822; <Full.Box@corp.example>\r
Action: Failed\r
Status: 5.2.2 (mailbox full)\r
\r
--b1\r
Content-Type: text/rfc822-headers\r
\r
From: news@shop.example\r
To: Full.Box@corp.example\r
Message-ID: <msg_02ABC@shop.example>\r
\r
--b1--\r
";

/// A Yahoo-style ARF complaint.
const ARF: &str = "From: staff@hotmail.example\r
To: fbl@shop.example\r
Subject: complaint about message\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=feedback-report;\r
     boundary=\"part1_13d.2e68ed54_boundary\"\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: text/plain; charset=\"US-ASCII\"\r
Content-Transfer-Encoding: 7bit\r
\r
This is an email abuse report for an email message received from IP\r
192.0.2.1 on Thu, 8 Mar 2025 14:00:00 EDT.\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: message/feedback-report\r
\r
Feedback-Type: abuse\r
User-Agent: SomeGenerator/1.0\r
Version: 1\r
Original-Mail-From: <news@shop.example>\r
Original-Rcpt-To: <angry@hotmail.example>\r
Arrival-Date: Thu, 8 Mar 2025 14:00:00 EDT\r
Source-IP: 192.0.2.1\r
\r
--part1_13d.2e68ed54_boundary\r
Content-Type: message/rfc822\r
Content-Disposition: inline\r
\r
From: <news@shop.example>\r
Received: from mailserver.shop.example by mx.hotmail.example; Thu, 8 Mar 2025 14:00:00\r
To: angry@hotmail.example\r
Subject: Spring sale\r
Message-ID: <msg_03XYZ@shop.example>\r
X-Relais-Message-Id: msg_03XYZ\r
Date: Thu, 8 Mar 2025 14:00:00 EDT\r
\r
Buy now\r
--part1_13d.2e68ed54_boundary--\r
";

#[test]
fn postfix_dsn() {
    let Feedback::Bounces(reports) = parse_feedback(POSTFIX_DSN.as_bytes()).unwrap() else {
        panic!("not bounces")
    };
    assert_eq!(reports.len(), 2);
    assert_eq!(
        reports[0],
        BounceReport {
            recipient: "nobody@client.example".into(),
            action: DsnAction::Failed,
            status: "5.1.1".into(),
            hard: true,
            diagnostic: Some(
                "550 5.1.1 <nobody@client.example>: Recipient address rejected: User unknown \
                 (in reply to RCPT TO command)"
                    .into()
            ),
            relais_message_id: Some("msg_01JHX8ZK3Q".into()),
        }
    );
    let delayed = &reports[1];
    assert_eq!(delayed.recipient, "slow@other.example");
    assert_eq!(
        (delayed.action, delayed.status.as_str(), delayed.hard),
        (DsnAction::Delayed, "4.4.1", false)
    );
    assert!(delayed
        .diagnostic
        .as_deref()
        .unwrap()
        .ends_with("Connection timed out"));
    assert_eq!(delayed.relais_message_id.as_deref(), Some("msg_01JHX8ZK3Q"));
}

#[test]
fn headers_only_dsn_uses_the_message_id() {
    let Feedback::Bounces(reports) = parse_feedback(HEADERS_ONLY_DSN.as_bytes()).unwrap() else {
        panic!("not bounces")
    };
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.recipient, "Full.Box@corp.example");
    assert_eq!(
        (r.action, r.status.as_str(), r.hard),
        (DsnAction::Failed, "5.2.2", true)
    );
    assert_eq!(r.diagnostic, None);
    assert_eq!(r.relais_message_id.as_deref(), Some("msg_02ABC"));
}

#[test]
fn arf_complaint() {
    assert_eq!(
        parse_feedback(ARF.as_bytes()).unwrap(),
        Feedback::Complaint(Complaint {
            feedback_type: "abuse".into(),
            original_recipient: Some("angry@hotmail.example".into()),
            relais_message_id: Some("msg_03XYZ".into()),
        })
    );
    // Without Original-Rcpt-To the returned message's To is used.
    let redacted = ARF.replace("Original-Rcpt-To: <angry@hotmail.example>\r\n", "");
    let Feedback::Complaint(c) = parse_feedback(redacted.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(c.original_recipient.as_deref(), Some("angry@hotmail.example"));
}

#[test]
fn other_messages_are_not_reports() {
    let reply = "From: a@b.example\r\nTo: news@shop.example\r\nSubject: Re: sale\r\n\r\nThanks!\r\n";
    assert_eq!(parse_feedback(reply.as_bytes()).unwrap(), Feedback::NotAReport);
    let foreign_id = POSTFIX_DSN
        .replace("X-Relais-Message-Id: msg_01JHX8ZK3Q\r\n", "")
        .replace("<msg_01JHX8ZK3Q@shop.example>", "<abc@elsewhere.example>");
    let Feedback::Bounces(r) = parse_feedback(foreign_id.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r[0].relais_message_id, None);
}

#[test]
fn broken_reports_are_errors() {
    let no_status = POSTFIX_DSN.replace("Status: 5.1.1\r\n", "");
    let e = parse_feedback(no_status.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("nobody@client.example: no Status"), "{e}");
    let no_part = HEADERS_ONLY_DSN.replace("message/delivery-status", "text/plain");
    assert!(matches!(
        parse_feedback(no_part.as_bytes()),
        Err(DsnError::Malformed { .. })
    ));
    let no_type = ARF.replace("Feedback-Type: abuse\r\n", "");
    assert!(parse_feedback(no_type.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("Feedback-Type"));
    assert_eq!(parse_feedback(b""), Err(DsnError::NotAMessage));
}
