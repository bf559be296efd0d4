// Development/test bundle: LINE's LIFF SDK from npm plus LINE's mock plugin, exposed as the
// globals the pages use (production loads the SDK from LINE instead and no mock at all).
import liff from '@line/liff';
import { LiffMockPlugin } from '@line/liff-mock';

window.liff = liff;
window.LiffMockPlugin = LiffMockPlugin;
