# infra/staging/main.tf: one root module per stage, calling the module alertlab generates. dev and
# staging share AWS account 111111111111; the generated module creates the shared SNS topic and Slack
# channel configuration only for the stage that owns them (dev), and staging's alarms notify that
# topic by its ARN, so dev is applied first.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
  backend "s3" {
    bucket = "example-terraform-state"
    key    = "alerts/staging.tfstate"
    region = "eu-west-1"
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "lambda_alerts" {
  source = "../../generated/terraform/lambda"
  stage  = "staging"
  tags   = { team = "platform" }
}
