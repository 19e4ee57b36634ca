//! Registration: the steps of a run (Graph batches, the certificates it makes, the checks of a
//! new application's credential), a few per alarm.

use super::*;
use shared::assertion::AssertionSigner as _;

impl<H: SignInHost, C: HttpClient> SignInService<'_, H, C> {
    /// Runs registration steps until it waits, ends, or the per-alarm budget is used.
    pub(super) async fn register(&self, rec: &mut SignInRecord) -> Result<(), HostError> {
        let endpoints = self.config.endpoints(rec.cloud);
        // The record's cloud is the truth: a run stored before runs had one reads as Global.
        let cloud = rec.cloud;
        if let Some(reg) = rec.running() {
            reg.cloud = cloud;
        }
        for _ in 0..STEPS_PER_ALARM {
            let Some(token) = rec.token().map(|t| t.access_token.clone()) else {
                if let Some(reg) = rec.running() {
                    reg.fail(ErrorDetail::new(ErrorCode::CodeExpired));
                }
                rec.settle(self.host.now());
                break;
            };
            let t = self.host.now();
            let Some(reg) = rec.running() else {
                rec.settle(t);
                break;
            };
            match reg.next(t) {
                Work::Graph(batches) => {
                    // Recorded before sending: a restart now looks up instead of creating again.
                    if reg.mark_sent() {
                        self.host.put(rec).await?;
                    }
                    let sends = batches.iter().map(|b| self.http.send(graph::batch(&endpoints, &token, b)));
                    let answers = join_all(sends)
                        .await
                        .into_iter()
                        .map(|r| match r {
                            Ok(resp) => graph::read_batch(&resp),
                            Err(_) => Err(MicrosoftError::transport()),
                        })
                        .collect();
                    if let Some(reg) = rec.running() {
                        reg.on_batches(answers, self.host.now());
                    }
                }
                Work::Certificates(orders) => {
                    let made = self.make_certificates(&orders).await.map_err(|e| {
                        self.host.warn(&format!("signin {}: generating a certificate failed: {}", rec.id, e.0));
                        e.0
                    });
                    if let Some(reg) = rec.running() {
                        reg.on_certificates(made);
                    }
                }
                Work::Verify(indexes) => {
                    let tenant = reg.tenant.as_ref().map(|t| t.id.clone()).unwrap_or_default();
                    let apps: Vec<(u8, Option<App>)> = indexes.iter().map(|i| (*i, reg.app(*i).cloned())).collect();
                    let checks = apps.iter().map(|(i, app)| {
                        let (endpoints, tenant) = (&endpoints, &tenant);
                        async move {
                            match app {
                                Some(app) => (*i, self.verify_app(endpoints, tenant, app).await),
                                None => (*i, VerifyOutcome::Refused(MicrosoftError::transport())),
                            }
                        }
                    });
                    let outcomes = join_all(checks).await;
                    if let Some(reg) = rec.running() {
                        reg.on_verify_round(outcomes, self.host.now());
                    }
                }
                Work::WaitUntil(_) => break,
                Work::Done | Work::Failed(_) => {
                    rec.settle(self.host.now());
                    if rec.running().is_none() {
                        break;
                    }
                }
            }
            self.host.put(rec).await?;
        }
        rec.settle(self.host.now());
        Ok(())
    }

    /// Generates the certificates of `orders`, in order; the first failure stops.
    pub(super) async fn make_certificates(
        &self,
        orders: &[CertificateOrder],
    ) -> Result<Vec<(u8, GeneratedCertificate)>, HostError> {
        let mut made = Vec::with_capacity(orders.len());
        for order in orders {
            made.push((order.index, self.make_certificate(order).await?));
        }
        Ok(made)
    }

    /// Generates the key pair and the self-signed certificate of `order`.
    pub(super) async fn make_certificate(&self, order: &CertificateOrder) -> Result<GeneratedCertificate, HostError> {
        let (pkcs8, spki) = self.host.generate_key().await.map_err(HostError)?;
        let unsigned =
            UnsignedCertificate::new(&spki, &order.common_name, self.random(), order.not_before, order.not_after)
                .map_err(|e| HostError(e.to_string()))?;
        let signature = self
            .host
            .signer(pkcs8.expose())
            .sign(AssertionAlg::RS256, unsigned.to_be_signed())
            .await
            .map_err(|e| HostError(e.to_string()))?;
        let der = unsigned.assemble(&signature).map_err(|e| HostError(e.to_string()))?;
        let (info, _) = describe_certificate(&der).map_err(|e| HostError(format!("{e:?}")))?;
        Ok(GeneratedCertificate {
            der_base64: STANDARD.encode(&der),
            pkcs8_base64: SecretString::new(STANDARD.encode(pkcs8.expose())),
            info,
            not_before: order.not_before,
            not_after: order.not_after,
        })
    }

    /// Checks one application with its generated certificate (a client assertion signed with its
    /// key), or the secret of a run from before certificates: one attempt, without retries (the
    /// registration plan retries by itself).
    pub(super) async fn verify_app(
        &self,
        endpoints: &shared::CloudEndpoints,
        tenant: &str,
        app: &App,
    ) -> VerifyOutcome {
        let Some(app_id) = app.app_id() else { return VerifyOutcome::Refused(MicrosoftError::transport()) };
        match (app.certificate(), app.secret()) {
            (Some(c), _) => {
                let (Ok(der), Ok(pkcs8)) = (STANDARD.decode(&c.der_base64), STANDARD.decode(c.pkcs8_base64.expose()))
                else {
                    return VerifyOutcome::Refused(MicrosoftError::transport());
                };
                let pkcs8 = SecretBytes::new(pkcs8);
                let jti = STANDARD.encode(self.random::<16>());
                let assertion = ClientAssertion::new(
                    AssertionAlg::RS256,
                    &der,
                    app_id,
                    &endpoints.assertion_audience(tenant),
                    &jti,
                    self.host.now().seconds(),
                );
                let signed = assertion.sign_with(&self.host.signer(pkcs8.expose())).await;
                match signed {
                    Ok(jwt) => {
                        verify(self.http, endpoints, tenant, app_id, ClientCredential::Assertion(&jwt)).await.into()
                    }
                    Err(e) => {
                        self.host.warn(&format!("signing a client assertion failed: {e}"));
                        VerifyOutcome::Refused(MicrosoftError::transport())
                    }
                }
            }
            (None, Some((secret, _))) => {
                verify(self.http, endpoints, tenant, app_id, ClientCredential::Secret(secret)).await.into()
            }
            (None, None) => VerifyOutcome::Refused(MicrosoftError::transport()),
        }
    }
}
