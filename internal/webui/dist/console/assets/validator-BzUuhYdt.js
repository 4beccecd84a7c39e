import{cp as i}from"./index-WNz-2OlU.js";const n=o=>["",...i].includes(o);export{n as i};
