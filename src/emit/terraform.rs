//! Terraform for CloudWatch alarms: a module applied once per stage (`var.stage`).
//!
//! Every (alert, env) alarm is an `aws_cloudwatch_metric_alarm` with
//! `count = var.stage == "<env>" ? 1 : 0`, so each stage's pipeline creates only its own alarms and
//! plans stay clean in all of them. Resources that stages sharing one AWS account need once — the SNS
//! topic and the AWS Chatbot Slack channel subscribed to it — have
//! `count = local.env.owns_shared ? 1 : 0`: exactly one stage per account owns them, and the others
//! refer to the topic by its ARN. The body is built with hcl-rs (no text templates), so strings are
//! escaped by the HCL writer (`${` → `$${`, `%{` → `%%{`).

use std::path::PathBuf;

use hcl::expr::{
    BinaryOp, BinaryOperator, Conditional, Expression, FuncCall, Object, ObjectKey, Traversal,
    Variable,
};
use hcl::{Block, Body};

use super::{number, spec_label, EmitError, GeneratedFile};
use crate::band::Direction;
use crate::conventions;
use crate::spec::{AlertSet, AnomalyModel, Condition, ResolvedAlert};

fn var(path: &[&str]) -> Expression {
    let mut t = Traversal::builder(Variable::unchecked(path[0]));
    for p in &path[1..] {
        t = t.attr(*p);
    }
    t.build().into()
}

fn index0(path: &[&str], attr: &str) -> Expression {
    let mut t = Traversal::builder(Variable::unchecked(path[0]));
    for p in &path[1..] {
        t = t.attr(*p);
    }
    t.index(0u64).attr(attr).build().into()
}

fn cond(c: Expression, t: impl Into<Expression>, f: impl Into<Expression>) -> Expression {
    Expression::from(Conditional::new(c, t.into(), f.into()))
}

fn eq(l: Expression, r: impl Into<Expression>) -> Expression {
    Expression::from(hcl::expr::Operation::Binary(BinaryOp::new(
        l,
        BinaryOperator::Eq,
        r.into(),
    )))
}

fn object<'a>(items: impl IntoIterator<Item = (&'a str, Expression)>) -> Expression {
    let obj: Object<ObjectKey, Expression> = items
        .into_iter()
        .map(|(k, v)| (ObjectKey::Expression(Expression::String(k.to_string())), v))
        .collect();
    Expression::Object(obj)
}

fn string_map(map: &std::collections::BTreeMap<String, String>) -> Expression {
    object(
        map.iter()
            .map(|(k, v)| (k.as_str(), Expression::String(v.clone()))),
    )
}

fn comparison_operator(alert: &ResolvedAlert) -> Result<(&'static str, bool), EmitError> {
    match &alert.condition {
        Condition::Threshold { op, .. } => Ok((op.cloudwatch_operator(), false)),
        Condition::Anomaly { model: AnomalyModel::Promql(_), .. } => Err(EmitError {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            target: "terraform",
            reason: "a `promql` band is computed by Prometheus recording rules; CloudWatch alarms use `model: seasonal` (ANOMALY_DETECTION_BAND)".into(),
        }),
        Condition::Anomaly { direction, .. } => Ok((
            match direction {
                Direction::Above => "GreaterThanUpperThreshold",
                Direction::Below => "LessThanLowerThreshold",
                Direction::Both => "LessThanLowerOrGreaterThanUpperThreshold",
            },
            true,
        )),
        Condition::Percentile { .. } => Err(EmitError {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            target: "terraform",
            reason: "CloudWatch has no trailing-percentile threshold; use a static `threshold` or an `anomaly` band".into(),
        }),
        Condition::Present => Err(EmitError {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            target: "terraform",
            reason: "`present` is a Prometheus condition (the expression returns a series); a CloudWatch alarm compares a value: use a `threshold`".into(),
        }),
    }
}

/// The alarm resource of one (alert, env).
fn alarm(alert: &ResolvedAlert) -> Result<Option<Block>, EmitError> {
    let Some(metric) = &alert.cloudwatch else {
        return Ok(None);
    };
    let (operator, anomaly) = comparison_operator(alert)?;
    let description = conventions::alarm_description(
        &alert.summary,
        alert.description.as_deref(),
        alert.runbook_url.as_deref(),
    );
    let actions = var(&["local", "alarm_actions"]);
    let mut b = Block::builder("resource")
        .add_label("aws_cloudwatch_metric_alarm")
        .add_label(conventions::alarm_resource(&alert.name, &alert.env))
        .add_attribute((
            "count",
            cond(
                eq(
                    var(&["var", "stage"]),
                    Expression::String(alert.env.clone()),
                ),
                1u64,
                0u64,
            ),
        ))
        .add_attribute((
            "alarm_name",
            Expression::String(conventions::alarm_name(&alert.name, &alert.env)),
        ))
        .add_attribute(("alarm_description", Expression::String(description)))
        .add_attribute(("comparison_operator", Expression::String(operator.into())))
        .add_attribute(("evaluation_periods", alert.cw.evaluation_periods as u64))
        .add_attribute(("datapoints_to_alarm", alert.cw.datapoints_to_alarm as u64))
        .add_attribute((
            "treat_missing_data",
            Expression::String(alert.cw.treat_missing_data.to_string()),
        ));
    if alert.actions.alarm {
        b = b.add_attribute(("alarm_actions", actions.clone()));
    }
    if alert.actions.ok {
        b = b.add_attribute(("ok_actions", actions.clone()));
    }
    if alert.actions.insufficient_data {
        b = b.add_attribute(("insufficient_data_actions", actions));
    }
    let tags = FuncCall::builder("merge")
        .arg(var(&["var", "tags"]))
        .arg(object([
            ("alertlab_alert", Expression::String(alert.name.clone())),
            ("severity", Expression::String(alert.severity.clone())),
        ]))
        .build();
    b = b.add_attribute(("tags", Expression::from(tags)));
    let stat_key = if metric.stat.is_extended() {
        "extended_statistic"
    } else {
        "statistic"
    };
    if anomaly {
        let Condition::Anomaly { k, .. } = &alert.condition else {
            unreachable!("anomaly operator implies an anomaly condition")
        };
        let mut m = Block::builder("metric")
            .add_attribute((
                "metric_name",
                Expression::String(metric.metric_name.clone()),
            ))
            .add_attribute(("namespace", Expression::String(metric.namespace.clone())))
            .add_attribute(("period", metric.period_s as u64))
            .add_attribute(("stat", Expression::String(metric.stat.to_string())));
        if !metric.dimensions.is_empty() {
            m = m.add_attribute(("dimensions", string_map(&metric.dimensions)));
        }
        b = b
            .add_attribute(("threshold_metric_id", Expression::String("ad1".into())))
            .add_block(
                Block::builder("metric_query")
                    .add_attribute(("id", Expression::String("m1".into())))
                    .add_attribute(("return_data", true))
                    .add_block(m.build())
                    .build(),
            )
            .add_block(
                Block::builder("metric_query")
                    .add_attribute(("id", Expression::String("ad1".into())))
                    .add_attribute((
                        "expression",
                        Expression::String(format!("ANOMALY_DETECTION_BAND(m1, {})", number(*k))),
                    ))
                    .add_attribute((
                        "label",
                        Expression::String(format!("{} (expected)", metric.metric_name)),
                    ))
                    .add_attribute(("return_data", true))
                    .build(),
            );
    } else {
        let Condition::Threshold { value, .. } = &alert.condition else {
            unreachable!("static operator implies a threshold")
        };
        b = b
            .add_attribute((
                "metric_name",
                Expression::String(metric.metric_name.clone()),
            ))
            .add_attribute(("namespace", Expression::String(metric.namespace.clone())))
            .add_attribute((stat_key, Expression::String(metric.stat.to_string())))
            .add_attribute(("period", metric.period_s as u64))
            .add_attribute((
                "threshold",
                Expression::Number(
                    hcl::Number::from_f64(*value).unwrap_or_else(|| hcl::Number::from(0u64)),
                ),
            ));
        if !metric.dimensions.is_empty() {
            b = b.add_attribute(("dimensions", string_map(&metric.dimensions)));
        }
    }
    Ok(Some(b.build()))
}

fn header(spec: &str) -> String {
    format!("# {}\n\n", conventions::header(spec))
}

fn render(spec: &str, body: &Body) -> String {
    header(spec)
        + &super::hclfmt::align_assignments(
            &hcl::to_string(body).expect("generated HCL bodies always format"),
        )
}

/// `main.tf`, `variables.tf` and `outputs.tf` of the module for `set`.
pub fn generate(
    set: &AlertSet,
    envs: &[String],
    rules_configmap: bool,
) -> Result<Vec<GeneratedFile>, EmitError> {
    let spec = spec_label(&set.source);
    let dir = PathBuf::from("terraform").join(&set.name);
    let env_names = set.env_names(envs);
    let topic = set
        .notifications
        .sns_topic
        .clone()
        .unwrap_or_else(|| format!("alertlab-{}", set.name));

    // locals: the env table, this stage's row, the topic ARN every stage uses.
    let env_table = object(set.environments.values().map(|e| {
        (
            e.name.as_str(),
            object([
                ("account", Expression::String(e.account.clone())),
                ("region", Expression::String(e.region.clone())),
                ("owns_shared", Expression::Bool(e.owns_shared)),
                ("cluster", Expression::String(e.cluster_name().to_string())),
                ("owns_cluster", Expression::Bool(e.owns_cluster)),
            ]),
        )
    }));
    let owns = var(&["local", "env", "owns_shared"]);
    let arn = FuncCall::builder("format")
        .arg(Expression::String("arn:aws:sns:%s:%s:%s".into()))
        .arg(var(&["local", "env", "region"]))
        .arg(var(&["local", "env", "account"]))
        .arg(var(&["local", "sns_topic_name"]))
        .build();
    let locals = Block::builder("locals")
        .add_attribute(("environments", env_table))
        .add_attribute((
            "env",
            Expression::from(
                Traversal::builder(Variable::unchecked("local"))
                    .attr("environments")
                    .index(var(&["var", "stage"]))
                    .build(),
            ),
        ))
        .add_attribute(("sns_topic_name", Expression::String(topic.clone())))
        .add_attribute((
            "sns_topic_arn",
            cond(
                owns.clone(),
                index0(&["aws_sns_topic", "alerts"], "arn"),
                Expression::from(arn),
            ),
        ))
        .add_attribute((
            "alarm_actions",
            Expression::from(
                FuncCall::builder("concat")
                    .arg(Expression::Array(vec![var(&["local", "sns_topic_arn"])]))
                    .arg(var(&["var", "extra_alarm_actions"]))
                    .build(),
            ),
        ))
        .build();
    let mut main = Body::builder().add_block(locals).add_block(
        Block::builder("resource")
            .add_label("aws_sns_topic")
            .add_label("alerts")
            .add_attribute(("count", cond(owns.clone(), 1u64, 0u64)))
            .add_attribute(("name", var(&["local", "sns_topic_name"])))
            .add_attribute(("tags", var(&["var", "tags"])))
            .build(),
    );
    if let Some((workspace, channel)) = &set.notifications.slack {
        main = main.add_block(
            Block::builder("resource")
                .add_label("aws_chatbot_slack_channel_configuration")
                .add_label("alerts")
                .add_attribute(("count", cond(owns.clone(), 1u64, 0u64)))
                .add_attribute((
                    "configuration_name",
                    Expression::String(format!("alertlab-{}", set.name)),
                ))
                .add_attribute(("iam_role_arn", var(&["var", "chatbot_role_arn"])))
                .add_attribute(("slack_team_id", Expression::String(workspace.clone())))
                .add_attribute(("slack_channel_id", Expression::String(channel.clone())))
                .add_attribute((
                    "sns_topic_arns",
                    Expression::Array(vec![index0(&["aws_sns_topic", "alerts"], "arn")]),
                ))
                .add_attribute(("tags", var(&["var", "tags"])))
                .build(),
        );
    }
    let mut outputs = Vec::new();
    for alert in &set.alerts {
        for env in &env_names {
            let Some(resolved) = alert.per_env.get(env.as_str()) else {
                continue;
            };
            if let Some(block) = alarm(resolved)? {
                main = main.add_block(block);
                outputs.push((
                    conventions::alarm_name(&alert.name, env),
                    conventions::alarm_resource(&alert.name, env),
                ));
            }
        }
    }

    // The Prometheus rules of every env in a cluster, in one ConfigMap created by the cluster's
    // owning stage (the same once-per-shared-target rule as the SNS topic).
    let mut by_cluster: std::collections::BTreeMap<String, Vec<(String, Expression)>> =
        Default::default();
    if rules_configmap {
        for env in &env_names {
            let Some(e) = set.environments.get(env.as_str()) else {
                continue;
            };
            if let Some(text) = super::prometheus::rule_file_yaml(set, env)? {
                by_cluster
                    .entry(e.cluster_name().to_string())
                    .or_default()
                    .push((
                        conventions::rule_file(&set.name, env),
                        Expression::String(text),
                    ));
            }
        }
    }
    let has_rules = !by_cluster.is_empty();
    if has_rules {
        let rules = object(by_cluster.iter().map(|(cluster, files)| {
            (
                cluster.as_str(),
                object(files.iter().map(|(n, t)| (n.as_str(), t.clone()))),
            )
        }));
        main = main.add_block(
            Block::builder("locals")
                .add_attribute(("prometheus_rules", rules))
                .build(),
        );
        let lookup = FuncCall::builder("lookup")
            .arg(var(&["local", "prometheus_rules"]))
            .arg(var(&["local", "env", "cluster"]))
            .arg(Expression::Object(Object::new()))
            .build();
        main = main.add_block(
            Block::builder("resource")
                .add_label("kubernetes_config_map_v1")
                .add_label("prometheus_rules")
                .add_attribute((
                    "count",
                    cond(var(&["local", "env", "owns_cluster"]), 1u64, 0u64),
                ))
                .add_block(
                    Block::builder("metadata")
                        .add_attribute((
                            "name",
                            Expression::String(conventions::rules_configmap(&set.name)),
                        ))
                        .add_attribute(("namespace", var(&["var", "prometheus_rules_namespace"])))
                        .add_attribute(("labels", string_map(&super::prometheus::k8s_labels(set))))
                        .build(),
                )
                .add_attribute(("data", Expression::from(lookup)))
                .build(),
        );
    }
    let stages: Vec<Expression> = set
        .environments
        .keys()
        .map(|e| Expression::String(e.clone()))
        .collect();
    let stage_list = set
        .environments
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let mut variables = Body::builder()
        .add_block(
            Block::builder("variable")
                .add_label("stage")
                .add_attribute((
                    "description",
                    Expression::String(format!(
                        "The stage this module is applied for: one of {stage_list}"
                    )),
                ))
                .add_attribute(("type", var(&["string"])))
                .add_block(
                    Block::builder("validation")
                        .add_attribute((
                            "condition",
                            Expression::from(
                                FuncCall::builder("contains")
                                    .arg(Expression::Array(stages))
                                    .arg(var(&["var", "stage"]))
                                    .build(),
                            ),
                        ))
                        .add_attribute((
                            "error_message",
                            Expression::String(format!("stage must be one of {stage_list}.")),
                        ))
                        .build(),
                )
                .build(),
        )
        .add_block(
            Block::builder("variable")
                .add_label("tags")
                .add_attribute((
                    "description",
                    Expression::String("Tags for every resource".into()),
                ))
                .add_attribute((
                    "type",
                    Expression::from(FuncCall::builder("map").arg(var(&["string"])).build()),
                ))
                .add_attribute(("default", Expression::Object(Object::new())))
                .build(),
        )
        .add_block(
            Block::builder("variable")
                .add_label("extra_alarm_actions")
                .add_attribute((
                    "description",
                    Expression::String("ARNs notified besides the shared SNS topic".into()),
                ))
                .add_attribute((
                    "type",
                    Expression::from(FuncCall::builder("list").arg(var(&["string"])).build()),
                ))
                .add_attribute(("default", Expression::Array(vec![])))
                .build(),
        );
    if has_rules {
        variables = variables.add_block(
            Block::builder("variable")
                .add_label("prometheus_rules_namespace")
                .add_attribute(("description", Expression::String("Namespace of the Prometheus rules ConfigMap (created by the stage that owns its cluster)".into())))
                .add_attribute(("type", var(&["string"])))
                .add_attribute(("default", Expression::String("monitoring".into())))
                .build(),
        );
    }
    if set.notifications.slack.is_some() {
        variables = variables.add_block(
            Block::builder("variable")
                .add_label("chatbot_role_arn")
                .add_attribute(("description", Expression::String("IAM role AWS Chatbot assumes (used by the stage that owns shared resources)".into())))
                .add_attribute(("type", var(&["string"])))
                .add_attribute(("default", Expression::Null))
                .build(),
        );
    }
    let alarm_arns = object(outputs.iter().map(|(name, resource)| {
        let splat = Traversal::builder(Variable::unchecked("aws_cloudwatch_metric_alarm"))
            .attr(resource.as_str())
            .full_splat()
            .attr("arn")
            .build();
        (
            name.as_str(),
            Expression::from(
                FuncCall::builder("one")
                    .arg(Expression::from(splat))
                    .build(),
            ),
        )
    }));
    let outputs_body = Body::builder()
        .add_block(
            Block::builder("output")
                .add_label("sns_topic_arn")
                .add_attribute((
                    "description",
                    Expression::String(
                        "The SNS topic every alarm of this stage notifies (shared per account)"
                            .into(),
                    ),
                ))
                .add_attribute(("value", var(&["local", "sns_topic_arn"])))
                .build(),
        )
        .add_block(
            Block::builder("output")
                .add_label("alarm_arns")
                .add_attribute((
                    "description",
                    Expression::String("Alarm name → ARN (null for other stages' alarms)".into()),
                ))
                .add_attribute(("value", alarm_arns))
                .build(),
        )
        .build();
    Ok(vec![
        GeneratedFile {
            path: dir.join("main.tf"),
            contents: render(&spec, &main.build()),
        },
        GeneratedFile {
            path: dir.join("variables.tf"),
            contents: render(&spec, &variables.build()),
        },
        GeneratedFile {
            path: dir.join("outputs.tf"),
            contents: render(&spec, &outputs_body),
        },
    ])
}
