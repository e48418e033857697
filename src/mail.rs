//! Outgoing mail: SMTP through lettre (STARTTLS when the server offers it, implicit TLS on port 465),
//! or, without `EMAIL_HOST`, a transport that logs the message (development and tests) or none at
//! all (production: a logged reset code would be a secret in the logs).

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::EmailConfig;

/// Each failure keeps lettre's error as its source: the cause ("connection refused", the server's
/// reply) is the useful part, and [`crate::http::error::chain`] logs it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {address:?}")]
    Address {
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("the message could not be built")]
    Message(#[source] lettre::error::Error),
    #[error("the mail server refused or could not be reached")]
    Transport(#[source] lettre::transport::smtp::Error),
    #[error(
        "Email is not configured on this server: the operator must set EMAIL_HOST and EMAIL_FROM."
    )]
    Disabled,
}

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    /// Outside production without `EMAIL_HOST`.
    Log,
    /// Production without `EMAIL_HOST`: the server runs, password reset answers 503.
    Disabled,
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: Option<&EmailConfig>, production: bool) -> anyhow::Result<Self> {
        let Some(c) = config else {
            return Ok(Mailer {
                transport: if production {
                    Transport::Disabled
                } else {
                    Transport::Log
                },
                from: "EduCoin <no-reply@localhost>".parse()?,
            });
        };
        let tls = TlsParameters::new(c.host.clone())?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
            .port(c.port)
            .timeout(Some(std::time::Duration::from_secs(15)))
            .tls(if c.port == 465 {
                Tls::Wrapper(tls)
            } else {
                Tls::Opportunistic(tls)
            });
        if let (Some(user), Some(pass)) = (&c.user, &c.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        let from = c
            .from
            .parse()
            .map_err(|_| anyhow::anyhow!("EMAIL_FROM {:?} is not an email address", c.from))?;
        Ok(Mailer {
            transport: Transport::Smtp(Box::new(builder.build())),
            from,
        })
    }

    /// Fails when mail cannot be sent at all, so a route can refuse before it does any work.
    pub fn ensure_enabled(&self) -> Result<(), MailError> {
        match self.transport {
            Transport::Disabled => Err(MailError::Disabled),
            _ => Ok(()),
        }
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to_box: Mailbox = to.parse().map_err(|source| MailError::Address {
            address: to.to_owned(),
            source,
        })?;
        match &self.transport {
            Transport::Disabled => Err(MailError::Disabled),
            Transport::Log => {
                tracing::warn!(to = %to, subject = %subject, body = %body,
                    "EMAIL_HOST is not set: this mail is logged, not sent (development only)");
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to_box)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_owned())
                    .map_err(MailError::Message)?;
                let span = crate::telemetry::client_span("smtp", "send");
                let sent = tracing::Instrument::instrument(smtp.send(message), span.clone())
                    .await
                    .map(drop)
                    .map_err(MailError::Transport);
                if sent.is_err() {
                    crate::telemetry::mark_error(&span);
                }
                sent
            }
        }
    }

    pub async fn send_reset_code(
        &self,
        to: &str,
        code: &str,
        valid_minutes: u64,
    ) -> Result<(), MailError> {
        self.send(
            to,
            "Your EduCoin password reset code",
            &format!(
                "Your one-time code is {code}.\n\nIt is valid for {valid_minutes} minutes and can be used once. \
                 If you did not ask to reset your password, you can ignore this email.\n\n— EduCoin (Quokki)"
            ),
        )
        .await
    }
}
