#!/usr/bin/python3
"""Writes the hand-made sample messages in this directory (run it from here).

Each imitates a kind of real-world mail the parser must read as Python's email
package does: Outlook (RFC 2231 filename, folded parameters), Gmail (UTF-8 base64,
inline image, encoded-word filename), Apple Mail (LF line ends, nested multiparts),
a mailing list (signed part plus a footer part), a Postfix bounce (multipart/report
with message/delivery-status), a forwarded message/rfc822, Chinese and Japanese
charsets, odd and missing content types, encoded words in odd places, uuencode, and a
message cut off in the middle. Written by the Sluice project; no third-party text."""
import base64
import quopri


def w(name, text, eol='\r\n'):
    with open(name, 'wb') as f:
        f.write(text.replace('\n', eol).encode('utf-8', 'surrogateescape'))


def b64(b, width=76):
    s = base64.b64encode(b).decode()
    return '\n'.join(s[i:i + width] for i in range(0, len(s), width))


pdf = b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n' * 3
gm_text = b64('大家好，附上第二季會議記錄。\n[image: 圖表.png]\n'.encode())
gm_html = quopri.encodestring('<div dir="ltr">大家好，附上第二季會議記錄。<img src="cid:ii_lx1" alt="圖表.png"></div>'.encode()).decode()
png = b64(bytes(range(256)) * 4)
pdf64 = b64(pdf)
xlsx = b64(b'PK\x03\x04' + bytes(200))
cut = b64(bytes(range(100)))[:60]
big5 = b'\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5'.decode('utf-8', 'surrogateescape')
jis = '\x1b$BF|K\\8l\x1b(B'

w('outlook_rfc2231_attachment.eml', f'''Received: from EXCH01.corp.example (10.1.1.1) by EXCH02.corp.example
 (10.1.1.2) with Microsoft SMTP Server (TLS) id 15.1.2507.27; Tue, 4 Jun 2024
 09:12:44 +0200
From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen.mueller@corp.example>
To: "Sales Team" <sales@corp.example>
Subject: =?iso-8859-1?Q?Angebot_f=FCr_Q3_=96_bitte_pr=FCfen?=
Thread-Topic: =?iso-8859-1?Q?Angebot_f=FCr_Q3?=
Date: Tue, 4 Jun 2024 07:12:43 +0000
Message-ID: <AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com>
Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach: yes
Content-Type: multipart/mixed;
	boundary="_004_AM0PR01MB1234ABCD_"
MIME-Version: 1.0

--_004_AM0PR01MB1234ABCD_
Content-Type: multipart/alternative;
	boundary="_000_AM0PR01MB1234ABCD_"

--_000_AM0PR01MB1234ABCD_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Hallo zusammen,

anbei das Angebot f=FCr Q3. Gr=FC=DFe
J=FCrgen

--_000_AM0PR01MB1234ABCD_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Diso-8859-=
1">
</head><body><p>Hallo zusammen,</p><p>anbei das Angebot f=FCr Q3.</p></body=
></html>

--_000_AM0PR01MB1234ABCD_--

--_004_AM0PR01MB1234ABCD_
Content-Type: application/pdf; name="=?iso-8859-1?Q?Angebot_Q3_f=FCr_Kunde.pdf?="
Content-Description: =?iso-8859-1?Q?Angebot_Q3_f=FCr_Kunde.pdf?=
Content-Disposition: attachment;
	filename*=iso-8859-1''Angebot%20Q3%20f%FCr%20Kunde.pdf; size=1234;
	creation-date="Tue, 04 Jun 2024 07:12:00 GMT";
	modification-date="Tue, 04 Jun 2024 07:12:00 GMT"
Content-Transfer-Encoding: base64

{pdf64}

--_004_AM0PR01MB1234ABCD_--
''')

w('gmail_utf8_inline_image.eml', f'''MIME-Version: 1.0
Date: Wed, 5 Jun 2024 18:01:02 +0800
Message-ID: <CAB1x2y3z4=abcDEF@mail.gmail.com>
Subject: =?UTF-8?B?5pyD6K2w6KiY6YyEIC0g56ys5LqM5a2j?=
From: =?UTF-8?B?546L5bCP5piO?= <xiaoming.wang@gmail.example>
To: team@example.tw
Content-Type: multipart/related; boundary="000000000000a1b2c3d4e5f6a7b8"

--000000000000a1b2c3d4e5f6a7b8
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6a7b7"

--000000000000a1b2c3d4e5f6a7b7
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{gm_text}
--000000000000a1b2c3d4e5f6a7b7
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{gm_html}
--000000000000a1b2c3d4e5f6a7b7--
--000000000000a1b2c3d4e5f6a7b8
Content-Type: image/png; name="=?UTF-8?B?5ZyW6KGoLnBuZw==?="
Content-Disposition: inline; filename="=?UTF-8?B?5ZyW6KGoLnBuZw==?="
Content-Transfer-Encoding: base64
Content-ID: <ii_lx1>
X-Attachment-Id: ii_lx1

{png}
--000000000000a1b2c3d4e5f6a7b8--
''')

w('apple_mail_nested.eml', f'''From: Anna Svensson <anna@example.se>
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_5D3A1C2E-8F4B-4C6D-9E0F-1A2B3C4D5E6F"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: =?utf-8?Q?Sm=C3=B6rg=C3=A5sbord_p=C3=A5_fredag?=
Date: Thu, 6 Jun 2024 10:00:00 +0200
Message-Id: <A1B2C3D4-E5F6-7890-ABCD-EF1234567890@example.se>
To: kollegor@example.se

--Apple-Mail=_5D3A1C2E-8F4B-4C6D-9E0F-1A2B3C4D5E6F
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
	charset=utf-8

Hej!

Sm=C3=B6rg=C3=A5sbord p=C3=A5 fredag klockan 12.
--Apple-Mail=_5D3A1C2E-8F4B-4C6D-9E0F-1A2B3C4D5E6F
Content-Type: multipart/mixed;
	boundary="Apple-Mail=_11111111-2222-3333-4444-555555555555"


--Apple-Mail=_11111111-2222-3333-4444-555555555555
Content-Transfer-Encoding: 7bit
Content-Type: text/html;
	charset=us-ascii

<html><body>Hej!</body></html>
--Apple-Mail=_11111111-2222-3333-4444-555555555555
Content-Disposition: attachment;
	filename*=utf-8''Meny%20f%C3%B6r%20fredag.pdf
Content-Type: application/pdf;
	x-unix-mode=0644;
	name="=?utf-8?Q?Meny_f=C3=B6r_fredag=2Epdf?="
Content-Transfer-Encoding: base64

{pdf64}
--Apple-Mail=_11111111-2222-3333-4444-555555555555--

--Apple-Mail=_5D3A1C2E-8F4B-4C6D-9E0F-1A2B3C4D5E6F--
''', eol='\n')

w('mailing_list_footer.eml', '''Return-Path: <dev-bounces@lists.example.org>
From: "Dev, Person (Contractor)" <dev.person@example.com>
To: dev@lists.example.org
Subject: Re: [dev] Patch: fix =?utf-8?q?UTF=2D8?= handling
List-Id: Developers <dev.lists.example.org>
List-Unsubscribe: <https://lists.example.org/mailman/options/dev>,
 <mailto:dev-request@lists.example.org?subject=unsubscribe>
Content-Type: multipart/mixed; boundary="===============1234567890123456789=="
MIME-Version: 1.0

--===============1234567890123456789==
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="sig-boundary"

--sig-boundary
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline

> Quoted text
Looks good to me.

-- 
Dev Person
--sig-boundary
Content-Type: application/pgp-signature; name="signature.asc"
Content-Description: PGP signature
Content-Disposition: attachment; filename="signature.asc"

-----BEGIN PGP SIGNATURE-----

iQEzBAEBCAAdFiEEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM=
=AbCd
-----END PGP SIGNATURE-----

--sig-boundary--

--===============1234567890123456789==
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: inline

_______________________________________________
dev mailing list
dev@lists.example.org
https://lists.example.org/mailman/listinfo/dev

--===============1234567890123456789==--
''')

w('postfix_bounce_report.eml', '''Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: sender@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="3F2A1B0C9D.1717664400/mx.example.net"
Message-Id: <20240606090000.3F2A1B0C9D@mx.example.net>

This is a MIME-encapsulated message.

--3F2A1B0C9D.1717664400/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown

--3F2A1B0C9D.1717664400/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 3F2A1B0C9D
Arrival-Date: Thu,  6 Jun 2024 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.org
Original-Recipient: rfc822;nobody@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address
    rejected: User unknown

--3F2A1B0C9D.1717664400/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: sender@example.com
To: nobody@example.org
Subject: hello

--3F2A1B0C9D.1717664400/mx.example.net--
''')

w('forwarded_rfc822_attached.eml', f'''From: boss@example.com
To: me@example.com
Subject: Fwd: invoice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=fwd

--fwd
Content-Type: text/plain

See below.

--fwd
Content-Type: message/rfc822; name="invoice.eml"
Content-Disposition: attachment; filename="invoice.eml"

From: billing@vendor.example
To: boss@example.com
Subject: =?windows-1252?Q?Invoice_=93June=94?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner-b"

--inner-b
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

Total: =8010
--inner-b
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;
 name="invoice (June).xlsx"
Content-Disposition: attachment; filename="invoice (June).xlsx"
Content-Transfer-Encoding: base64

{xlsx}
--inner-b--

--fwd--
''')

w('odd_charsets_chinese.eml', f'''From: =?GB2312?B?1cXI/Q==?= <zhang@example.cn>
To: =?big5?B?pKSk5Q==?= <li@example.tw>
Subject: =?gb18030?B?1tDOxMP7s8Y=?= / =?BIG5?Q?=A4=A4=A4=E5?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_0_1234.5678"

------=_Part_0_1234.5678
Content-Type: text/plain; charset=gb2312
Content-Transfer-Encoding: base64

1tDOxMrHyrLDtNPv0dTX1g==
------=_Part_0_1234.5678
Content-Type: text/plain; charset=big5
Content-Transfer-Encoding: 8bit

{big5}
------=_Part_0_1234.5678
Content-Type: application/octet-stream; name="=?GBK?B?1tDOxM7EvP4udHh0?="
Content-Disposition: attachment; filename="=?GBK?B?1tDOxM7EvP4udHh0?="
Content-Transfer-Encoding: base64

aGVsbG8K
------=_Part_0_1234.5678--
''')

w('missing_and_odd_content_types.eml', '''From: odd@example.com
Subject: odd types
MIME-Version: 1.0
Content-Type: MULTIPART/MIXED; BOUNDARY=XyZ (a comment)

--XyZ

no content-type here
--XyZ
Content-Type: Text/Plain; Charset = "UTF-8" ; format=flowed
Content-Transfer-Encoding: Quoted-Printable

soft =
break
--XyZ
Content-Type: application/octet-stream; name=unquoted.bin
Content-Transfer-Encoding: BASE64

AAECAwQF
--XyZ
Content-Type: application/x-stuff; name="with \\"escaped\\" quotes.dat"

data
--XyZ
Content-Type: text/plain; charset="utf-8"; name="a;b.txt"

semicolon in a quoted name
--XyZ--
''')

w('japanese_iso2022.eml', f'''From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>
Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= test
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit

{jis}
''')

w('encoded_word_edge.eml', '''From: "=?utf-8?q?Quoted_Encoded?=" <q@example.com>, Bare Name <b@example.com>,
 group: one@example.com, "Two, Person" <two@example.com>;
Subject: =?utf-8?q?a?= =?utf-8?q?b?= c =?utf-8?b?w6k=?=d =?nosuch?q?x?= =?utf-8?q?broken
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; name==?utf-8?B?ZXZpbC5leGU=?=
Content-Disposition: attachment

unquoted encoded word in a parameter
--b
Content-Type: text/plain
Content-Disposition: attachment; filename*0="long file ";
 filename*1="name.txt"

continuation without charset
--b
Content-Type: text/plain
Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC.txt

split multibyte across continuations
--b--
''')

w('bare_lf_uuencode.eml', '''From: old@example.com
Subject: uuencoded
Content-Type: multipart/mixed; boundary=u

--u
Content-Type: application/octet-stream; name="hi.txt"
Content-Transfer-Encoding: x-uuencode

begin 644 hi.txt
#:&D*
`
end
--u--
''', eol='\n')

w('truncated_multipart.eml', f'''From: t@example.com
Subject: cut off
Content-Type: multipart/mixed; boundary=cut

--cut
Content-Type: text/plain

first part
--cut
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

{cut}''')

# Malformed mail where we knowingly differ from Python (listed, with the reason, in
# tests/mime/python-differences.tsv and docs/engine-mime.md).
w('diff_gb2312_label_gbk_bytes.eml', '''From: sender@example.cn
Subject: =?gb2312?B?1tCGqg==?=
Content-Type: text/plain; charset=gb2312

body
''')

w('diff_base64_dangling_char.eml', '''From: sender@example.com
Subject: truncated base64
Content-Type: application/octet-stream; name="cut.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcI
A
''')

w('diff_uuencode_without_begin.eml', '''From: sender@example.com
Subject: not really uuencoded
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode

#:&D*
`
end
''')
